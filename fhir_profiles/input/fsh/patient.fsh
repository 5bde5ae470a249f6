Alias: $idCard = urn:oid:2.16.156.10011.1.3
Alias: $healthCard = urn:oid:2.16.156.10011.1.19

Profile: YilianPatient
Parent: Patient
Id: yilian-patient
Title: "Patient in the alliance"
Description: "A patient as the alliance's members identify them: at least one identifier with its issuer, a name, gender and birth date (what identity cross-reference across members needs). A 居民身份证号 carries its GB 11643 check character."
* identifier 1..*
* identifier.system 1..1
* identifier.value 1..1
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier ^slicing.description = "Slice by the issuing system"
* identifier contains idCard 0..1 and healthCard 0..1
* identifier[idCard] ^short = "居民身份证号"
* identifier[idCard].system = $idCard (exactly)
* identifier[idCard] obeys yl-id-card
* identifier[healthCard] ^short = "居民健康卡号"
* identifier[healthCard].system = $healthCard (exactly)
* name 1..*
* name obeys yl-name
* gender 1..1
* birthDate 1..1

Invariant: yl-id-card
Description: "A 居民身份证号 is 17 digits and a check character (GB 11643-1999, ISO 7064 MOD 11-2)"
Severity: #error
Expression: "value.matches('^[0-9]{17}[0-9X]$') and '10X98765432'.substring((value.substring(0,1).toInteger() * 7 + value.substring(1,1).toInteger() * 9 + value.substring(2,1).toInteger() * 10 + value.substring(3,1).toInteger() * 5 + value.substring(4,1).toInteger() * 8 + value.substring(5,1).toInteger() * 4 + value.substring(6,1).toInteger() * 2 + value.substring(7,1).toInteger() * 1 + value.substring(8,1).toInteger() * 6 + value.substring(9,1).toInteger() * 3 + value.substring(10,1).toInteger() * 7 + value.substring(11,1).toInteger() * 9 + value.substring(12,1).toInteger() * 10 + value.substring(13,1).toInteger() * 5 + value.substring(14,1).toInteger() * 8 + value.substring(15,1).toInteger() * 4 + value.substring(16,1).toInteger() * 2) mod 11, 1) = value.substring(17, 1)"

Invariant: yl-name
Description: "A name has its text (张三) or a family name"
Severity: #error
Expression: "text.exists() or family.exists()"
