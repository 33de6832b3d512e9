"""Chinese personal and company names, drawn the way they occur.

Surnames follow their real frequency (王, 李, 张 … cover a third of people), so
that "same surname" is common among strangers, as it is in real data, and the
linker cannot lean on it. Every character is in GBK, because some deliveries are
GBK-encoded.
"""
from __future__ import annotations

import random

_SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
             "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段")
# Rough weights: the first dozen surnames are much more frequent than the tail.
_SURNAME_WEIGHTS = [max(1.0, 8.0 - i * 0.6) for i in range(len(_SURNAMES))]
_MALE = "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘"
_FEMALE = "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"
_COMPANY_WORDS = ("鑫源", "恒通", "泰和", "宏达", "瑞丰", "金诺", "博远", "汇通", "聚丰", "华盛", "永兴", "德润",
                  "嘉禾", "盛世", "昌隆", "兴业", "正信", "天诚", "佳美", "顺达", "恒昌", "润泽", "银河", "海纳")
_TRADES = ("商贸", "科技", "网络科技", "信息技术", "电子商务", "餐饮管理", "建材", "物流", "文化传媒", "农业开发")
_CITY_NAMES = {"3701": "济南", "3702": "青岛", "3703": "淄博", "3704": "枣庄", "3705": "东营", "3706": "烟台",
               "3707": "潍坊", "3708": "济宁", "3709": "泰安", "3710": "威海", "3711": "日照", "3713": "临沂",
               "3714": "德州", "3715": "聊城", "3716": "滨州", "3717": "菏泽"}


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAMES, weights=_SURNAME_WEIGHTS)[0]


def given_name(rng: random.Random, male: bool) -> str:
    pool = _MALE if male else _FEMALE
    return rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")


def person_name(rng: random.Random, male: bool, family_name: str | None = None) -> str:
    return (family_name or surname(rng)) + given_name(rng, male)


def company_name(rng: random.Random, region: str, shell: bool = False) -> str:
    """A registered company name; shell companies favour vague "科技/商贸" trades."""
    city = _CITY_NAMES.get(region[:4], "山东")
    trade = rng.choice(_TRADES[:5] if shell else _TRADES)
    return f"{city}{rng.choice(_COMPANY_WORDS)}{trade}有限公司"


def shop_name(rng: random.Random, region: str) -> str:
    city = _CITY_NAMES.get(region[:4], "山东")
    kind = rng.choice(("餐饮管理", "超市", "建材", "五金机电", "农资", "汽车服务", "服装"))
    return f"{city}{rng.choice(_COMPANY_WORDS)}{kind}有限公司"
