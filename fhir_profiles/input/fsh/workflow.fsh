Alias: $applicationNumber = urn:oid:2.16.156.10011.1.24
Alias: $obsCategory = http://terminology.hl7.org/CodeSystem/observation-category

Profile: YilianServiceRequest
Parent: ServiceRequest
Id: yilian-service-request
Title: "Order to a shared centre"
Description: "An examination or test a member orders from a shared centre of the lead hospital (基层检查、上级诊断): the electronic application number (电子申请单号), the centre's category, the patient, who asked, who is to perform, when and how urgent."
* identifier 1..*
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier contains applicationNumber 1..1
* identifier[applicationNumber] ^short = "电子申请单号"
* identifier[applicationNumber].system = $applicationNumber (exactly)
* identifier[applicationNumber].value 1..1
* intent = #order (exactly)
* category 1..*
* category from YilianExamCategories (required)
* code 1..1
* subject only Reference(Patient)
* requester 1..1
* requester only Reference(Practitioner or PractitionerRole or Organization)
* performer 1..*
* performer only Reference(Organization or HealthcareService or Practitioner or PractitionerRole)
* authoredOn 1..1
* priority 1..1

Profile: YilianReadingTask
Parent: Task
Id: yilian-reading-task
Title: "Remote reading work"
Description: "The work of reading an order's examination in a shared centre: what kind of work, which order, whose patient, who owns it, how urgent."
* code 1..1
* code from YilianTaskTypes (required)
* focus 1..1
* focus only Reference(ServiceRequest or DiagnosticReport)
* for 1..1
* for only Reference(Patient)
* intent = #order (exactly)
* priority 1..1
* authoredOn 1..1
* requester 1..1
* owner only Reference(Organization or HealthcareService or Practitioner or PractitionerRole)

Extension: RecognitionMark
Id: recognition-mark
Title: "Mutual-recognition mark"
Description: "The mark a recognisable result carries (检查检验结果互认标识), e.g. 浙HR: at the top right of its report, beside a lab result's item."
* ^context[0].type = #element
* ^context[0].expression = "DiagnosticReport"
* ^context[+].type = #element
* ^context[=].expression = "Observation"
* value[x] only string
* value[x] 1..1
* valueString obeys yl-hr-mark

Invariant: yl-hr-mark
Description: "The mark ends in HR (浙HR, 鄂HR, 吉林省HR)"
Severity: #error
Expression: "matches('^.{0,8}HR$')"

Profile: YilianDiagnosticReport
Parent: DiagnosticReport
Id: yilian-diagnostic-report
Title: "Report of a shared centre"
Description: "A report written for an order: which order, whose patient, when examined and released, by whom; a final report names its signing (verifying) doctor — two-level sign-off."
* extension contains RecognitionMark named recognitionMark 0..1 and ReportFindings named findings 0..1 and PathologyGross named gross 0..1 and PathologyMicroscopic named microscopic 0..1 and ReportSupplement named supplement 0..*
* basedOn 1..*
* basedOn only Reference(ServiceRequest)
* category 1..*
* subject 1..1
* subject only Reference(Patient)
* effective[x] 1..1
* effective[x] only dateTime
* issued 1..1
* performer 1..*
* obeys yl-dr-signed

Invariant: yl-dr-signed
Description: "A final, amended or appended report names the doctor who verified it (resultsInterpreter)"
Severity: #error
Expression: "(status = 'final' or status = 'amended' or status = 'corrected' or status = 'appended') implies resultsInterpreter.exists()"

Profile: YilianLabObservation
Parent: Observation
Id: yilian-lab-observation
Title: "Laboratory result"
Description: "One result of a laboratory test: laboratory category, the item's code (local lab code, LOINC where mapped), patient, time, and a value or the reason there is none."
* category 1..*
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains laboratory 1..1
* category[laboratory] = $obsCategory#laboratory
* extension contains RecognitionMark named recognitionMark 0..1
* code.coding 1..*
* subject 1..1
* subject only Reference(Patient)
* effective[x] 1..1
* effective[x] only dateTime or Period
* value[x] only Quantity or CodeableConcept or string or Ratio or Range
* obeys yl-obs-value

Invariant: yl-obs-value
Description: "A result has a value, the reason it has none, or its members"
Severity: #error
Expression: "value.exists() or dataAbsentReason.exists() or hasMember.exists() or component.exists()"

Extension: ReportFindings
Id: report-findings
Title: "Findings (检查所见)"
Description: "What the reader saw, as Chinese reports give it before the impression (诊断意见, DiagnosticReport.conclusion)."
* ^context.type = #element
* ^context.expression = "DiagnosticReport"
* value[x] only string
* value[x] 1..1

Extension: ReportSupplement
Id: report-supplement
Title: "Supplementary report (补充报告)"
Description: "What a released report was supplemented with (an appended report: what it said before stays unchanged) — e.g. the immunohistochemistry results of a pathology case — when and by whom."
* ^context.type = #element
* ^context.expression = "DiagnosticReport"
* extension contains text 1..1 and time 1..1 and by 0..1
* extension[text].value[x] only string
* extension[time].value[x] only dateTime
* extension[by].value[x] only Reference(Practitioner)

Extension: CandidateOrder
Id: candidate-order
Title: "Order this study seems to answer (待确认)"
Description: "A study without the accession number of an order, whose patient, modality and date match one order of its organization: shown to the centre for confirmation ($link), never linked silently."
* ^context.type = #element
* ^context.expression = "ImagingStudy"
* value[x] only Reference(ServiceRequest)
* value[x] 1..1

Alias: $sct = http://snomed.info/sct

Profile: YilianReferral
Parent: ServiceRequest
Id: yilian-referral
Title: "Referral between members (双向转诊)"
Description: "A member refers a patient to another (上转 up to the lead hospital, 下转 down to a clinic): SNOMED CT 3457005 Patient referral and the direction as category, how urgent (urgent upward: the green channel 绿色通道), why, the receiving organization (and department as performerType), the documents that go with it (reports, results, a summary, the follow-up plan of a downward referral) as supportingInfo."
* intent = #order (exactly)
* category 2..*
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains referral 1..1
* category[referral] = $sct#3457005
* category ^short = "Patient referral, and the direction: a coding of referral-direction (up 上转 / down 下转)"
* obeys yl-referral-direction
* subject 1..1
* subject only Reference(Patient)
* requester 1..1
* requester only Reference(Practitioner or PractitionerRole or Organization)
* performer 1..1
* performer only Reference(Organization)
* authoredOn 1..1
* priority 1..1
* obeys yl-referral-reason

Invariant: yl-referral-direction
Description: "A referral goes up or down (a category coding of referral-direction)"
Severity: #error
Expression: "category.coding.where(system = 'http://yilian.example/fhir/CodeSystem/referral-direction' and (code = 'up' or code = 'down')).exists()"

Invariant: yl-referral-reason
Description: "A referral says why (reasonCode or reasonReference)"
Severity: #error
Expression: "reasonCode.exists() or reasonReference.exists()"

Profile: YilianReferralTask
Parent: Task
Id: yilian-referral-task
Title: "Receiving a referral (接诊)"
Description: "The receiving organization's work on a referral: received, accepted or declined (with the reason), the patient arrived, completed with the discharge or treatment summary sent back (output)."
* code 1..1
* code = YilianTaskType#referral
* basedOn 1..1
* basedOn only Reference(ServiceRequest)
* focus 1..1
* focus only Reference(ServiceRequest)
* for 1..1
* for only Reference(Patient)
* intent = #order (exactly)
* priority 1..1
* authoredOn 1..1
* requester 1..1
* owner 1..1
* owner only Reference(Organization)
* businessStatus 1..1
* businessStatus from YilianReferralStatuses (required)

ValueSet: YilianReferralStatuses
Id: referral-status
Title: "Steps of a referral"
Description: "Every step of a referral Task."
* include codes from system YilianReferralStatus
