"""Deterministic synthetic 医保 articles in the style of the seed pages.

Titles mix places, years, schemes and the questions readers ask
(2025年佛山职工医保报销比例是多少); bodies have numbered sections and
bullets like the scraped answers. Same seed and size, same corpus, so
benchmark runs compare like with like.
"""

from __future__ import annotations

import random

PROVINCES = {
    "广东": ["广州", "深圳", "佛山", "东莞", "珠海", "汕头", "汕尾", "惠州", "中山", "江门"],
    "江西": ["南昌", "抚州", "景德镇", "九江", "赣州"],
    "吉林": ["长春", "延边", "四平", "通化", "吉林市"],
    "河南": ["郑州", "洛阳", "开封", "新乡"],
    "山东": ["济南", "青岛", "烟台", "潍坊"],
    "云南": ["昆明", "大理", "曲靖", "玉溪"],
    "湖北": ["武汉", "宜昌", "襄阳"],
    "江苏": ["南京", "苏州", "无锡", "常州"],
    "北京": ["北京"],
    "山西": ["太原", "大同"],
}
SCHEMES = ["医保", "职工医保", "居民医保", "城乡居民医保", "少儿医保", "新农合", "灵活就业医保",
           "医保卡", "社保卡", "惠民保", "佛医保", "医保个人账户", "统筹账户", "医保电子凭证"]
SUBJECTS = ["报销比例", "起付标准", "缴费标准", "异地就医备案", "个人账户余额", "门诊统筹", "住院报销",
            "大病保险", "生育津贴", "慢特病", "家庭共济", "转移接续", "断缴补缴", "药品目录", "定点医院",
            "提现", "激活", "密码", "缴费年限", "退休待遇"]
QUESTIONS = ["是多少", "怎么办理", "怎么查询", "在哪里办", "有哪些", "能用吗", "可以报销吗", "怎么算",
             "什么时候到账", "为什么是0", "会清零吗", "需要什么材料", "流程", "新规定", "电话"]
PEOPLE = ["新生儿", "婴儿", "退休职工", "灵活就业人员", "大学生", "外地人", "农民工", "老人", "孕妇"]
TOPICS = ["payment", "reimbursement", "remote-care", "accounts", "newborns", "cards", "retirement",
          "maternity", "chronic", "commercial", "transfer", "policy"]
HEADINGS = ["政策依据", "办理流程", "所需材料", "注意事项", "常见问题", "报销标准", "办理渠道", "温馨提示"]
DISEASES = ["腰痛", "下肢无力", "半月板损伤", "青光眼", "鼻咽癌", "葡萄膜炎", "糖尿病", "高血压", "冠心病",
            "慢性肾病", "白内障", "肺结节", "乳腺癌", "甲状腺结节", "痛风", "哮喘", "黄疸", "骨折", "肝硬化",
            "帕金森", "抑郁症", "尿毒症", "脑梗", "类风湿", "银屑病", "胃癌", "结肠炎", "肺炎", "湿疹", "中耳炎"]
TREATMENTS = ["关节镜手术", "人工耳蜗植入术", "透析", "化疗", "放疗", "介入治疗", "康复理疗", "靶向药",
              "胰岛素", "核磁共振", "CT检查", "胃镜", "肠镜", "住院手术", "门诊输液", "中医针灸"]
PAPERS = ["身份证", "户口本", "出生医学证明", "结婚证", "诊断证明", "住院发票", "费用清单", "银行卡",
          "居住证", "社保卡", "病历本", "转诊单", "委托书", "离职证明"]
CHANNELS = ["粤医保小程序", "国家医保服务平台", "支付宝市民中心", "微信城市服务", "12393热线",
            "社保经办窗口", "银行网点", "政务服务网", "粤省事", "赣服通", "随申办", "爱山东", "一部手机办事通"]
CLAUSES = [
    "参保人需在规定时间内完成{subject}相关手续", "{scheme}的{subject}按照{place}最新政策执行",
    "{place}参保人可通过{channel}办理{subject}", "办理时需携带{paper}和{paper2}",
    "{people}可以在出生或入职后{days}天内参保登记", "具体金额以{place}医保局公布的标准为准",
    "个人账户资金按月划入，次月可在定点药店使用", "跨省就医需先办理异地就医备案再直接结算",
    "未按时缴费会导致待遇中断，补缴后次月恢复", "统筹基金支付部分不计入个人账户余额",
    "{disease}患者做{treatment}，门诊费用在起付线以上按比例报销", "{year}年度缴费标准较上年调整{amount}元",
    "可拨打12393医保服务热线咨询{subject}问题", "家庭共济可将个人账户余额用于配偶子女",
    "商业补充保险与基本医保互为补充，{disease}等特定病种另有补偿", "{place}定点医疗机构名单可在{channel}查询",
    "{treatment}费用{amount}元以内由统筹基金支付{ratio}%", "{disease}属于门诊慢特病的，需先申请认定",
    "{people}在{place}就医，住院报销比例约为{ratio}%", "{paper}遗失的，可先到{channel}挂失补办",
]


def _sentence(rng: random.Random, place: str, scheme: str, subject: str, year: int) -> str:
    return rng.choice(CLAUSES).format(
        place=place, scheme=scheme, subject=subject, year=year, people=rng.choice(PEOPLE),
        channel=rng.choice(CHANNELS), paper=rng.choice(PAPERS), paper2=rng.choice(PAPERS),
        disease=rng.choice(DISEASES), treatment=rng.choice(TREATMENTS), days=rng.choice([30, 60, 90, 180]),
        amount=rng.choice([20, 30, 50, 180, 380, 400, 1000, 1800]), ratio=rng.choice([50, 60, 70, 80, 85, 90]),
    )


def article(n: int, rng: random.Random) -> dict:
    province = rng.choice(list(PROVINCES))
    city = rng.choice(PROVINCES[province])
    scheme, subject = rng.choice(SCHEMES), rng.choice(SUBJECTS)
    year = rng.choice([2021, 2022, 2023, 2024, 2025])
    style = rng.random()
    if style < 0.35:
        title = f"{year}年{province}{city}{scheme}{subject}{rng.choice(QUESTIONS)}"
    elif style < 0.7:
        title = f"{city}{scheme}{subject}{rng.choice(QUESTIONS)}"
    elif style < 0.85:
        title = f"{rng.choice(PEOPLE)}{scheme}{rng.choice(QUESTIONS)}"
    else:
        title = f"{year}年{province}{city}治疗{rng.choice(DISEASES)}做{rng.choice(TREATMENTS)}能走医保吗"
    sections = []
    for h in rng.sample(HEADINGS, rng.randint(3, 5)):
        para = "，".join(_sentence(rng, city, scheme, subject, year) for _ in range(rng.randint(3, 6)))
        bullets = "\n".join(
            f"- {_sentence(rng, city, scheme, subject, year)}。" for _ in range(rng.randint(2, 4))
        )
        sections.append(f"## {h}\n\n{para}。\n\n{bullets}")
    answer = f"{city}{scheme}{subject}：{_sentence(rng, city, scheme, subject, year)}。"
    return {
        "id": f"a{n:06d}",
        "title": title,
        "answer": answer if rng.random() < 0.6 else None,
        "summary": f"{_sentence(rng, city, scheme, subject, year)}，{_sentence(rng, city, scheme, subject, year)}。",
        "body": "\n\n".join(sections),
        "category": rng.choice(["政策解读", "办事指南", "常见问题"]),
        "topics": rng.sample(TOPICS, rng.randint(1, 2)),
        "tags": [scheme, subject],
        "regions": [province, city] if city != province else [province],
        "published_at": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "status": "draft" if rng.random() < 0.02 else "published",
        "version": 1,
    }


def generate(size: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    return [article(n, rng) for n in range(size)]


QUERIES = [
    "医保", "医保报销", "医保 报销 比例", "职工医保个人账户", "异地就医备案", "佛山医保在广州怎么用",
    "新生儿参保", "宝宝出生怎么参保", "医保卡丢了怎么办", "起付线是多少", "广州医保卡提现",
    "惠民保", "yibaoka", "医保账户为什么是负的", "退休待遇", "生育津贴怎么领", "灵活就业医保缴费标准",
    "2025年江西南昌医保", "社保卡激活", "医保卡密码", "家庭共济", "異地就醫備案", "门诊统筹报销比例",
    "12393", "医保 医保 医保", "青光眼手术医保报销", "人工耳蜗", "出生医学证明", "透析报销比例",
    "粤医保小程序怎么用", "乳腺癌靶向药医保",
]
# Queries of only words in most articles (医保 is in nearly all): the worst case for a scorer
# that scores every match, timed on their own.
COMMON_QUERIES = ["医保", "医保 报销", "医保报销", "医保 医保 医保", "报销 比例", "个人账户 统筹基金", "医保 缴费 标准"]
