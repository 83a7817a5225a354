"""The console's page: every label it uses exists in Traditional Chinese, Simplified Chinese and English;
it loads nothing from elsewhere; it is small; and the commands it sends are ones the services take."""

from __future__ import annotations

import re
from pathlib import Path

from services.console.proxy import ALLOWED, match
from shared.authz import COMMAND_RULES

STATIC = Path(__file__).resolve().parents[2] / "services" / "console" / "static"
ROW = re.compile(r'^\s*\["([^"]+)", "([^"]*)", "([^"]*)", "([^"]*)"\],?\s*$', re.M)


def labels() -> dict[str, tuple[str, str, str]]:
    text = (STATIC / "i18n.js").read_text()
    rows = ROW.findall(text)
    assert len(rows) == text.count('\n  ["'), "every row of the table is [key, zh-Hant, zh-Hans, en]"
    keys = [r[0] for r in rows]
    assert len(keys) == len(set(keys)), "no key twice"
    return {key: (hant, hans, en) for key, hant, hans, en in rows}


def used_keys() -> set[str]:
    app = (STATIC / "app.js").read_text()
    html = (STATIC / "index.html").read_text()
    keys = set(re.findall(r'data-i18n(?:-placeholder)?="([^"]+)"', html))
    keys |= set(re.findall(r'\bi18n: "([^"]+)"', app))
    keys |= set(re.findall(r'\bt\("([^"]+)"\)', app))
    keys |= set(re.findall(r'\bbutton\("([^"]+)"', app))
    keys |= set(re.findall(r'\blabel\("([^"]+)"', app))
    keys |= set(re.findall(r'\bstep\("[a-z_]+", "([^"]+)"', app))
    keys |= set(re.findall(r'\bsection\("([^"]+)"', app))
    keys |= set(re.findall(r'\boutcome\([a-z]+, "([^"]+)"\)', app))
    return {k for k in keys if not k.endswith(".")}


def test_every_label_the_page_uses_is_there_in_all_three_languages() -> None:
    table = labels()
    missing = sorted(used_keys() - set(table))
    assert not missing, f"labels without translations: {missing}"
    for key, (hant, hans, en) in table.items():
        assert hant and hans and en, key
    assert len(used_keys()) > 60  # the extraction above found the page's labels


def test_the_enumerations_shown_have_labels_in_all_three_languages() -> None:
    from typing import get_args

    from services.booking.domain import BOOKING_STATUSES
    from services.complaints.domain import STATUSES
    from services.console.main import VOCABULARY
    from shared.contract.common import Category, Channel, Intent, Severity

    table = labels()
    wanted = {
        "channel": get_args(Channel),
        "intent": get_args(Intent),
        "category": get_args(Category),
        "severity": get_args(Severity),
        "complaint_status": STATUSES,
        "booking_status": BOOKING_STATUSES,
        "outcome": VOCABULARY["callback_outcomes"],
        "equipment": VOCABULARY["equipment"],
        "remedy": VOCABULARY["remedies"],
        "root_cause": VOCABULARY["root_causes"],
    }
    missing = [f"{prefix}.{v}" for prefix, values in wanted.items() for v in values if f"{prefix}.{v}" not in table]
    assert not missing, missing


def test_traditional_and_simplified_labels_differ_where_the_scripts_do() -> None:
    table = labels()
    assert table["nav.customers"] == ("客戶檔案", "客户档案", "Customer file")
    differ = sum(1 for hant, hans, _ in table.values() if hant != hans)
    assert differ > len(table) // 3, "Simplified labels are not a copy of the Traditional ones"


def test_the_page_loads_nothing_from_elsewhere_and_stays_small() -> None:
    files = {p.name: p.read_text() for p in STATIC.iterdir()}
    assert set(files) == {"index.html", "app.js", "api.js", "i18n.js", "style.css"}
    for name, text in files.items():
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), f"{name} names another site"
        assert "@import" not in text and "eval(" not in text and "innerHTML" not in text, name
    assert sum(len(t.encode()) for t in files.values()) < 120_000  # a desk PC loads it at once


def test_every_command_the_page_sends_is_one_a_service_takes_and_the_console_forwards() -> None:
    app = (STATIC / "app.js").read_text()
    sent = set(re.findall(r'command\(\s*"(intake|booking|complaints)",\s*"([a-z_.]+)"', app))
    sent = {(s, n) for s, n in sent if not n.endswith(".")}  # "complaint." + a step: below
    sent |= {("complaints", "complaint." + s) for s in re.findall(r'step\("([a-z_]+)"', app)}
    desk = {"conversation.assign", "callback.assign", "callback.record", "inquiry.complete", "customer.book",
            "customer.link", "customer.unlink", "desk.handover"}  # fmt: skip
    assert {name for _, name in sent} >= desk | {"booking.cancel", "complaint.acknowledge", "complaint.handover"}
    for service, name in sent:
        assert name in COMMAND_RULES or name in desk, name
        assert match(service, "POST", f"/commands/{name}") is not None
    reads = set(re.findall(r'\bget\("(intake|booking|complaints|metrics)", [`"](/[a-z]+)', app))
    for service, path in reads:
        assert any(e.method == "GET" and e.template.startswith(path) for e in ALLOWED[service]), (service, path)


def test_the_page_names_its_files_and_the_api_relative_to_itself_so_it_works_under_a_prefix() -> None:
    html = (STATIC / "index.html").read_text()
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == [
        "static/style.css",
        "static/api.js",
        "static/i18n.js",
        "static/app.js",
    ]
    api = (STATIC / "api.js").read_text()
    assert "`api/${service}" in api and '"api/me"' in api and "`/api" not in api and '"/api' not in api
    assert "`/api" not in (STATIC / "app.js").read_text()


def test_the_case_form_asks_for_every_field_of_the_contracts_case_record() -> None:
    from services.console.main import VOCABULARY
    from shared.contract.commands import CaseRecord

    assert VOCABULARY["case_fields"] == list(CaseRecord.model_fields)
    table = labels()
    assert all(f"case.{f}" in table for f in CaseRecord.model_fields)
