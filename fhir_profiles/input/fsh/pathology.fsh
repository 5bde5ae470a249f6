// Commissioned pathology (病理诊断绿色通道): a member's specimens on their way to the lead
// hospital's pathology centre.

CodeSystem: YilianSpecimenTracking
Id: specimen-tracking
Title: "Where a pathology specimen is on its way (标本流转)"
Description: "The steps of a commissioned pathology specimen from the clinic to the pathology centre: numbered and labelled, sent, signed for, then accepted for examination or rejected."
* ^caseSensitive = true
* ^content = #complete
* #labelled "Numbered and labelled" "已编号"
* #sent "Sent to the pathology centre" "已送检"
* #received "Signed for by the pathology centre" "已签收"
* #accepted "Accepted for examination" "已接收"
* #rejected "Rejected" "已拒收"

ValueSet: YilianSpecimenTrackingSteps
Id: specimen-tracking
Title: "Where a pathology specimen is on its way (标本流转)"
Description: "Every step of a commissioned pathology specimen."
* include codes from system YilianSpecimenTracking

CodeSystem: YilianSpecimenRejectionReason
Id: specimen-rejection-reason
Title: "Why a pathology centre rejects a specimen (标本拒收原因)"
Description: "Why the pathology centre cannot examine a specimen it received."
* ^caseSensitive = true
* ^content = #complete
* #unlabelled "Specimen not labelled" "标本无标识"
* #insufficient-fixative "Not enough fixative" "固定液不足"
* #mismatch "Specimen does not match the order" "标本与申请单不符"
* #container-damaged "Container damaged" "容器破损"
* #other "Other" "其他"

ValueSet: YilianSpecimenRejectionReasons
Id: specimen-rejection-reason
Title: "Why a pathology centre rejects a specimen (标本拒收原因)"
Description: "Every reason a pathology centre rejects a specimen."
* include codes from system YilianSpecimenRejectionReason

Extension: SpecimenTracking
Id: specimen-tracking
Title: "Tracking of a pathology specimen (标本流转)"
Description: "The specimen's current step, when it was taken and by whom (a person of the centre, or an organization's system); set by the server's steps only."
* ^context.type = #element
* ^context.expression = "Specimen"
* extension contains step 1..1 and time 1..1 and by 0..1
* extension[step].value[x] only Coding
* extension[step].valueCoding from YilianSpecimenTrackingSteps (required)
* extension[time].value[x] only dateTime
* extension[by].value[x] only Reference(Practitioner or Organization)

Extension: SpecimenRejectionReason
Id: specimen-rejection-reason
Title: "Why the specimen was rejected (拒收原因)"
Description: "The coded reason the pathology centre rejected the specimen, with what was wrong as text."
* ^context.type = #element
* ^context.expression = "Specimen"
* value[x] only CodeableConcept
* value[x] 1..1
* valueCodeableConcept from YilianSpecimenRejectionReasons (required)

Profile: YilianPathologySpecimen
Parent: Specimen
Id: yilian-pathology-specimen
Title: "Commissioned pathology specimen (病理标本)"
Description: "A specimen a member sends to the pathology centre for its order: its number (标本号), the patient, the order, when it was taken out (离体时间) and from where, the pieces (块数), the container with its fixative and the fixation (processing: procedure, additive, start time); where it is on its way and, if rejected, why."
* extension contains SpecimenTracking named tracking 1..1 and SpecimenRejectionReason named rejectionReason 0..1
* accessionIdentifier 1..1
* accessionIdentifier ^short = "标本号 (urn:oid:2.16.156.10011.1.14)"
* accessionIdentifier.system 1..1
* accessionIdentifier.value 1..1
* subject 1..1
* subject only Reference(Patient)
* request 1..*
* request only Reference(ServiceRequest)
* collection 1..1
* collection.collected[x] 1..1
* collection.collected[x] only dateTime
* collection.collected[x] ^short = "离体时间"
* collection.bodySite 1..1
* collection.quantity ^short = "块数"
* processing ^short = "固定: procedure, fixative (additive), fixation start (time)"

Extension: PathologyGross
Id: pathology-gross
Title: "Gross description (大体所见)"
Description: "What the pathologist saw of the specimens with the naked eye: size, cut surface, the blocks taken."
* ^context.type = #element
* ^context.expression = "DiagnosticReport"
* value[x] only string
* value[x] 1..1

Extension: PathologyMicroscopic
Id: pathology-microscopic
Title: "Microscopic description (镜下所见)"
Description: "What the pathologist saw under the microscope; the diagnosis (病理诊断) is DiagnosticReport.conclusion."
* ^context.type = #element
* ^context.expression = "DiagnosticReport"
* value[x] only string
* value[x] 1..1

CodeSystem: YilianPathologyExam
Id: pathology-exam
Title: "Kinds of pathology examination (病理检查类别)"
Description: "What a pathology order asks for, by which its turnaround is set: a frozen section during surgery, a biopsy, a resection specimen, cytology."
* ^caseSensitive = true
* ^content = #complete
* #frozen "Intraoperative frozen section" "术中冰冻"
* #biopsy "Biopsy" "活检"
* #resection "Resection specimen" "手术标本"
* #cytology "Cytology" "细胞学"
