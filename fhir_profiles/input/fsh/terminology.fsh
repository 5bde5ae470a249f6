// Code systems and value sets of the alliance's shared examination services.

CodeSystem: YilianExamCategory
Id: exam-category
Title: "Shared-centre examination categories"
Description: "The shared centres of a medical alliance's lead hospital (医联体共享中心) that take orders from member clinics."
* ^caseSensitive = true
* ^content = #complete
* #imaging "Imaging" "医学影像：超声、X线、CT、MR、核医学"
* #ecg "ECG" "心电：静息、动态心电图"
* #lab "Laboratory" "医学检验"
* #pathology "Pathology" "病理诊断"

ValueSet: YilianExamCategories
Id: exam-category
Title: "Shared-centre examination categories"
Description: "Every category of the shared centres."
* include codes from system YilianExamCategory

CodeSystem: YilianTaskType
Id: task-type
Title: "Remote reading work"
Description: "Kinds of Task in the remote reading flow (基层检查、上级诊断)."
* ^caseSensitive = true
* ^content = #complete
* #remote-reading "Remote reading" "远程诊断：书写报告"
* #report-verification "Report verification" "报告审核：上级医师签发"
* #referral "Referral" "双向转诊：接诊"

ValueSet: YilianTaskTypes
Id: task-type
Title: "Remote reading work"
Description: "Every kind of remote reading Task."
* include codes from system YilianTaskType

CodeSystem: YilianRepeatReason
Id: repeat-reason
Title: "Reasons to repeat instead of recognising a result"
Description: "Why a doctor repeats an examination or test although a recognisable result exists (《医疗机构检查检验结果互认管理办法》, 国卫医发〔2022〕6号)."
* ^caseSensitive = true
* ^content = #complete
* #condition-changed "Condition changed" "病情变化"
* #fast-changing "Value changes fast with the disease" "检查检验结果随病程变化快"
* #major-intervention "Needed before a major intervention" "手术、输血等重大医疗措施前"
* #emergency "Emergency or rescue" "急诊、急救"
* #assessment "Forensic, disability or retirement assessment" "司法、伤残、病退等鉴定"
* #patient-request "Patient or family asks" "患者或家属要求"
* #eqa-failed "Issuing laboratory failed EQA" "出具机构室间质评不合格"
* #too-old "Result too old" "超出有效期"
* #clinically-necessary "Doctor judges it necessary" "医师认为有必要复查"
* #other "Other" "其他"

ValueSet: YilianRepeatReasons
Id: repeat-reason
Title: "Reasons to repeat instead of recognising a result"
Description: "Every reason to repeat."
* include codes from system YilianRepeatReason

CodeSystem: YilianReadingStatus
Id: reading-status
Title: "Where a reading Task stands"
Description: "The sub-states of remote reading work as a reading centre names them (Task.businessStatus; only the centre changes them)."
* ^caseSensitive = true
* ^content = #complete
* #awaiting-exam "Awaiting the examination" "待检查"
* #awaiting-reading "Awaiting reading" "待阅片"
* #reading "Being read" "阅片中"
* #awaiting-verification "Awaiting verification" "待审核"
* #released "Released" "已发布"
* #returned "Returned to the clinic" "已退回"
* #cancelled "Cancelled" "已取消"

CodeSystem: YilianReadingStep
Id: reading-step
Title: "Steps of remote reading"
Description: "What happened to an order's reading, each step timestamped and audited (Provenance.activity; the turnaround milestones)."
* ^caseSensitive = true
* ^content = #complete
* #ordered "Ordered" "开单"
* #exam-started "Examination started" "检查开始"
* #exam-ended "Examination ended" "检查结束"
* #images-complete "Images complete" "图像齐全"
* #claimed "Claimed by a reader" "领取阅片"
* #released-claim "Given back by its reader" "放弃阅片"
* #preliminary "Preliminary report submitted" "初步报告提交审核"
* #sent-back "Sent back to its author" "审核退回"
* #verified "Verified and released" "审核签发"
* #returned "Returned to the clinic" "退回申请科室"
* #amended "Amended after release" "报告更正"
* #appended "Supplemented after release" "补充报告"
* #delivered "Delivered to the ordering organization" "报告送达"
* #escalated "Overdue, escalated" "超时上报"

CodeSystem: YilianReturnReason
Id: return-reason
Title: "Why a reading centre returns an examination"
Description: "Why the centre sends the work back to the clinic instead of reading it."
* ^caseSensitive = true
* ^content = #complete
* #image-quality "Image quality not sufficient" "图像质量不合格"
* #wrong-body-part "Wrong body part or protocol" "检查部位或方法不符"
* #missing-history "Clinical history missing" "病史资料不全"
* #incomplete-series "Images incomplete" "图像不完整"
* #other "Other" "其他"

ValueSet: YilianReturnReasons
Id: return-reason
Title: "Why a reading centre returns an examination"
Description: "Every reason a centre returns work to the clinic."
* include codes from system YilianReturnReason

CodeSystem: YilianReferralDirection
Id: referral-direction
Title: "Direction of a referral (双向转诊)"
Description: "Whether a referral goes up to a higher-level member (上转: a clinic to the lead hospital) or down to a primary-care member (下转: rehabilitation, chronic-disease management)."
* ^caseSensitive = true
* ^content = #complete
* #up "Upward referral" "上转：基层转上级医院"
* #down "Downward referral" "下转：上级医院转基层康复、慢病管理"

ValueSet: YilianReferralDirections
Id: referral-direction
Title: "Directions of a referral"
Description: "Up or down."
* include codes from system YilianReferralDirection

CodeSystem: YilianReferralStatus
Id: referral-status
Title: "Steps of a referral (转诊状态)"
Description: "Where the receiving organization's referral Task stands (Task.businessStatus)."
* ^caseSensitive = true
* ^content = #complete
* #received "Received" "待接收"
* #accepted "Accepted" "已接收"
* #declined "Declined" "已拒收"
* #arrived "Patient arrived" "患者已到院"
* #completed "Completed" "已完成"
* #cancelled "Cancelled" "已撤销"
