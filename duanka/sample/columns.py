"""The delivery columns of contract §1, with their Chinese aliases and code words.

The sample writer needs them to write headers either way and to spell codes as
the Chinese words issuers use; it keeps its own copy so that the generator stays
independent of the ingest code it is meant to test.
"""
from __future__ import annotations

BANK = (
    ("lead_id", "线索编号"), ("issued_at", "下发时间"), ("issuer", "下发单位"), ("reason", "下发原因"),
    ("bank", "开户行"), ("account_no", "账号"), ("account_kind", "账户类型"), ("holder_name", "户名"),
    ("holder_id_type", "证件类型"), ("holder_id_no", "证件号码"), ("holder_phone", "预留手机号"),
    ("open_date", "开户日期"), ("open_branch", "开户网点"), ("open_channel", "开户渠道"), ("open_region", "开户地"),
    ("status", "账户状态"), ("login_device", "登录设备"), ("login_ip", "登录IP"), ("inflow_30d", "近30日流入金额"),
    ("outflow_30d", "近30日流出金额"), ("txn_count_30d", "近30日交易笔数"),
    ("counterparties_30d", "近30日交易对手数"), ("night_txn_ratio", "夜间交易占比"), ("case_ids", "关联案件"),
)
SIM = (
    ("lead_id", "线索编号"), ("issued_at", "下发时间"), ("issuer", "下发单位"), ("reason", "下发原因"),
    ("carrier", "运营商"), ("msisdn", "手机号码"), ("iccid", "ICCID"), ("imsi", "IMSI"), ("card_kind", "卡类型"),
    ("holder_name", "户名"), ("holder_id_type", "证件类型"), ("holder_id_no", "证件号码"), ("open_date", "入网日期"),
    ("open_outlet", "入网网点"), ("open_region", "入网地"), ("status", "号码状态"), ("imei", "终端IMEI"),
    ("abroad_days_30d", "近30日境外天数"), ("calls_out_7d", "近7日主叫次数"), ("callees_7d", "近7日被叫号码数"),
    ("sms_out_7d", "近7日短信数"), ("case_ids", "关联案件"),
)
CASE = (
    ("case_id", "案件编号"), ("reported_at", "报案时间"), ("region", "案发地"), ("fraud_type", "诈骗类型"),
    ("loss", "损失金额"), ("accounts", "涉案账号"), ("phones", "涉案电话"),
)
COLUMNS = {"bank": BANK, "sim": SIM, "case": CASE}

LIST_COLUMNS = {"login_device", "login_ip", "case_ids", "accounts", "phones"}
PHONE_COLUMNS = {"holder_phone", "msisdn"}
NUMERIC_COLUMNS = {"inflow_30d", "outflow_30d", "txn_count_30d", "counterparties_30d", "night_txn_ratio",
                   "abroad_days_30d", "calls_out_7d", "callees_7d", "sms_out_7d", "loss"}

# Code -> the Chinese words issuers write instead (any one of them is accepted).
WORDS = {
    "reason": {"CASE_LINKED": ("涉案",), "MULTI_CARD": ("一人多卡",), "ABNORMAL_OPEN": ("异常开户",),
               "SUSPICIOUS_TXN": ("可疑交易",), "ABROAD": ("境外使用",), "HIGH_FREQ_CALL": ("高频呼叫",),
               "REPORTED": ("群众举报",)},
    "bank": {"ICBC": ("中国工商银行", "工商银行"), "CCB": ("中国建设银行", "建设银行"),
             "ABC": ("中国农业银行", "农业银行"), "BOC": ("中国银行",), "BOCOM": ("交通银行",),
             "CMB": ("招商银行",), "PSBC": ("中国邮政储蓄银行", "邮储银行")},
    "account_kind": {"debit": ("借记卡",), "credit": ("信用卡",), "corporate": ("对公账户",),
                     "payment": ("支付账户",)},
    "holder_id_type": {"RIC": ("居民身份证",), "USCC": ("统一社会信用代码",), "PASSPORT": ("护照",),
                       "HMT": ("港澳台居民证件",)},
    "open_channel": {"counter": ("柜面",), "mobile": ("手机银行",), "agent": ("代办",)},
    "status": {"normal": ("正常",), "frozen": ("冻结",), "stop_payment": ("止付",), "closed": ("销户",),
               "suspended": ("停机",), "cancelled": ("销号",)},
    "carrier": {"CMCC": ("中国移动",), "CUCC": ("中国联通",), "CTCC": ("中国电信",), "CBN": ("中国广电",),
                "MVNO": ("虚拟运营商",)},
    "card_kind": {"personal": ("个人卡",), "iot": ("物联网卡",), "enterprise": ("行业卡",)},
}
