"""Chinese words for the codes a packet page shows (contract §1, §3; architecture roles)."""
from __future__ import annotations

TIER = {"red": "红色", "orange": "橙色", "yellow": "黄色"}
TIER_SHORT = {"red": "红", "orange": "橙", "yellow": "黄"}  # for narrow terminal tables
STATUS = {"issued": "已下发", "analyzed": "已研判", "verified": "已核查", "struck": "已打击", "closed": "已反馈"}
ROLE = {
    "organiser": "组织者",
    "collector": "收卡人",
    "card_farmer": "卡农",
    "rogue_outlet": "违规网点",
    "shell_company": "空壳公司",
    "member": "成员",
}
# Most important first: the order of the persons table and of the picture's legend.
ROLE_ORDER = ["organiser", "collector", "shell_company", "rogue_outlet", "card_farmer", "member"]
KIND = {
    "person": "人员",
    "company": "企业",
    "account": "账户",
    "phone": "电话",
    "device": "设备",
    "ip": "IP",
    "case": "案件",
}
REASON = {
    "CASE_LINKED": "涉案",
    "MULTI_CARD": "一人多卡",
    "ABNORMAL_OPEN": "异常开户",
    "SUSPICIOUS_TXN": "可疑交易",
    "ABROAD": "境外使用",
    "HIGH_FREQ_CALL": "高频呼叫",
    "REPORTED": "群众举报",
}
ACCOUNT_KIND = {"debit": "借记卡", "credit": "信用卡", "corporate": "对公账户", "payment": "支付账户"}
CARD_KIND = {"personal": "个人卡", "iot": "物联网卡", "enterprise": "行业卡"}
ID_TYPE = {"RIC": "居民身份证", "USCC": "统一社会信用代码", "PASSPORT": "护照", "HMT": "港澳台居民证件"}
CARRIER = {"CMCC": "中国移动", "CUCC": "中国联通", "CTCC": "中国电信", "CBN": "中国广电", "MVNO": "虚拟运营商"}
CHANNEL = {"counter": "柜面", "mobile": "手机银行", "agent": "代办"}
LEAD_STATUS = {
    "normal": "正常",
    "frozen": "冻结",
    "stop_payment": "止付",
    "closed": "销户",
    "suspended": "停机",
    "cancelled": "销号",
}
CHANGE = {"new": "新增", "grown": "扩大", "changed": "变化", "merged": "合并", "split": "拆分"}


def word(table: dict[str, str], code: object) -> str:
    """The Chinese word for a code, or the code itself when the table does not know it."""
    if code is None:
        return ""
    return table.get(str(code), str(code))
