"""A small standards set written to a temporary directory, for loader and evaluator tests."""

import copy
from pathlib import Path

import yaml

SET = {"name": "test set", "version": "1"}
SOURCE = {"document": "测试文件", "section": "第一条", "quote": "每人每月100元", "reliability": "official"}
STANDARD = {
    "id": "demo_allowance",
    "name": {"zh": "示例补贴", "en": "Demo allowance"},
    "summary": {"zh": "示例", "en": "demo"},
    "domain": "弱有所扶", "kind": "cash", "entity": "person", "period": "month",
    "unit": "元/人·月", "region_basis": "hukou", "scope": "53",
    "sources": {"doc": SOURCE},
    "parameters": {"rate": {
        "description": {"zh": "标准", "en": "rate"}, "unit": "元/人·月",
        "values": {"53": {"2024-01-01": {"value": 100, "source": "doc", "floor": True}},
                   "5301": {"2024-01-01": {"value": 120, "source": "doc"}}}}},
    "versions": {"2024-01-01": {
        "eligibility": [{"test": "age >= 60", "text": {"zh": "年满60周岁", "en": "aged 60 or over"}}],
        "amount": "p.rate", "sources": ["doc"]}},
}


def write(tmp_path: Path, standard: dict | None = None, raw: str | None = None) -> Path:
    (tmp_path / "gongfu.yaml").write_text(yaml.safe_dump(SET), encoding="utf-8")
    text = raw if raw is not None else yaml.safe_dump(standard or STANDARD, allow_unicode=True)
    (tmp_path / "demo_allowance.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def variant(**changes):
    s = copy.deepcopy(STANDARD)
    for path, value in changes.items():
        node = s
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return s


