// Code systems of the alliance directory (Organization, OrganizationAffiliation,
// PractitionerRole), generated from the registry: the codes are the registry's own.

CodeSystem: YilianOrganizationKind
Id: organization-kind
Title: "Kinds of member institution"
Description: "What a member of a medical alliance is (医联体成员机构类别)."
* ^caseSensitive = true
* ^content = #complete
* #lead_hospital "Lead hospital" "牵头医院"
* #county_hospital "County or district hospital" "县级/区级医院"
* #township_health_centre "Township health centre" "乡镇卫生院"
* #community_health_centre "Community health centre" "社区卫生服务中心"
* #village_clinic "Village clinic" "村卫生室"
* #alliance "Medical alliance" "医联体/医共体"

CodeSystem: YilianAllianceKind
Id: alliance-kind
Title: "Kinds of medical alliance"
Description: "The forms of medical alliance the policy names (医联体类型)."
* ^caseSensitive = true
* ^content = #complete
* #city_medical_group "City medical group" "城市医疗集团"
* #county_medical_community "County medical community" "县域医共体"
* #specialty_alliance "Specialty alliance" "专科联盟"
* #telemedicine_network "Telemedicine network" "远程医疗协作网"

CodeSystem: YilianAffiliation
Id: affiliation
Title: "Places in a medical alliance"
Description: "An institution's place in a medical alliance (牵头单位、成员单位)."
* ^caseSensitive = true
* ^content = #complete
* #lead "Lead" "牵头单位"
* #member "Member" "成员单位"

CodeSystem: YilianPractitionerRole
Id: practitioner-role
Title: "Roles of the people of an alliance"
Description: "What a person may do on the platform: write reports, verify them, order and receive, answer for an institution, administer."
* ^caseSensitive = true
* ^content = #complete
* #reader "Reader" "报告医师"
* #senior_reader "Senior reader" "审核医师"
* #clinician "Clinician" "临床医师"
* #head "Head of an institution" "负责人"
* #admin "Administrator" "管理员"
