"""Shanghai's 16 districts: the district codes (行政区划代码) a user or a case may carry."""

from __future__ import annotations

DISTRICTS: dict[str, str] = {
    "310101": "黄浦区",
    "310104": "徐汇区",
    "310105": "长宁区",
    "310106": "静安区",
    "310107": "普陀区",
    "310109": "虹口区",
    "310110": "杨浦区",
    "310112": "闵行区",
    "310113": "宝山区",
    "310114": "嘉定区",
    "310115": "浦东新区",
    "310116": "金山区",
    "310117": "松江区",
    "310118": "青浦区",
    "310120": "奉贤区",
    "310151": "崇明区",
}

DISTRICTS_EN: dict[str, str] = {
    "310101": "Huangpu", "310104": "Xuhui", "310105": "Changning", "310106": "Jing'an",
    "310107": "Putuo", "310109": "Hongkou", "310110": "Yangpu", "310112": "Minhang",
    "310113": "Baoshan", "310114": "Jiading", "310115": "Pudong New Area", "310116": "Jinshan",
    "310117": "Songjiang", "310118": "Qingpu", "310120": "Fengxian", "310151": "Chongming",
}


def district_name(code: str, lang: str = "zh") -> str:
    """The district's name in Chinese, or in English with ``lang="en"``; the code if unknown."""
    if lang == "en":
        return DISTRICTS_EN.get(code, code)
    return DISTRICTS.get(code, code)
