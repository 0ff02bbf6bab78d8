"""The rules a retention message must pass before the policy that wrote it can be used."""

from __future__ import annotations

import re

from retention_assets.llm.config import RulesSettings
from retention_assets.llm.prompts import RISK, Scenario

PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)", re.IGNORECASE)
MONEY_OFF = re.compile(r"\$\s*\d+(?:\.\d+)?\s*off\b", re.IGNORECASE)


def _personal_values(value) -> set[str]:
    """Spellings of a field value that count as an echo. Amounts match to the cent or one decimal
    (a bare ``70`` would flag unrelated numbers); short strings are ignored."""
    if isinstance(value, float):
        return {f"{value:.2f}", f"{value:.1f}"} if value >= 10 else {f"{value:.2f}"}
    text = str(value).strip()
    return {text.lower()} if len(text) >= 4 else set()


def risk_echoed(message: str, risk: float, offered: int | None) -> bool:
    """The churn-risk figure as a probability (0.73) or a percentage (73%, 73 percent). The
    offer's own percentage does not count: the message is meant to state it."""
    percents = {round(float(p)) for p in PERCENT.findall(message)} - {offered}
    as_probability = re.compile(rf"(?<![\d.]){re.escape(f'{risk:.2f}')}(?!\d)")
    return round(100 * risk) in percents or as_probability.search(message) is not None


def violations(message: str, scenario: Scenario, rules: RulesSettings) -> list[str]:
    """Names of the rules ``message`` breaks (empty when it passes)."""
    broken = []
    lowered = message.lower()
    offered = scenario.offer.discount_percent
    if any(float(p) != offered for p in PERCENT.findall(message)) or MONEY_OFF.search(message):
        broken.append("other_discount")
    for field in rules.personal_fields:
        if field not in scenario.customer:
            continue
        value = scenario.customer[field]
        echoed = risk_echoed(message, value, offered) if field == RISK else any(v in lowered for v in _personal_values(value))
        if echoed:
            broken.append(f"echoes_{field}")
    if len(message.split()) > rules.max_words:
        broken.append("too_long")
    if any(phrase.lower() in lowered for phrase in rules.banned_phrases):
        broken.append("banned_phrase")
    return broken


def check_messages(messages: list[str], scenarios: list[Scenario], rules: RulesSettings) -> dict:
    """Violation rate over ``messages`` and counts per rule."""
    per_message = [violations(m, s, rules) for m, s in zip(messages, scenarios, strict=True)]
    counts: dict[str, int] = {}
    for broken in per_message:
        for name in broken:
            counts[name] = counts.get(name, 0) + 1
    rate = sum(bool(b) for b in per_message) / max(len(messages), 1)
    return {"violation_rate": rate, "violations_by_rule": counts, "per_message": per_message}
