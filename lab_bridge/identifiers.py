"""The identifier systems the lab bridge reads and writes (national OIDs under
2.16.156.10011.1, WS/T 500)."""

APPLICATION_NUMBER = "urn:oid:2.16.156.10011.1.24"  # 电子申请单号
ID_CARD = "urn:oid:2.16.156.10011.1.3"  # 居民身份证号
HEALTH_CARD = "urn:oid:2.16.156.10011.1.19"  # 居民健康卡号
