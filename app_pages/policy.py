"""Policy: the company's one-page classifier, as it stands, and how it changed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aiops.classifier import FOUR_QUESTIONS, STATUSES, STOP_CONDITIONS, Status
from aiops.estimates import DESIGN_HELP
from aiops.governance import policy_history
from aiops.policy import RISK_LEVELS, KeywordSignal, RiskLevel
from aiops.report.format import ESTIMATE_DESIGNS, designs_phrase
from ui.context import store
from ui.text import md_escape, md_frame

# How a workflow reaches each status, in the classifier's order (aiops.classifier.decide_status).
STATUS_RULES = {
    Status.PAUSED: "at least one open stop condition",
    Status.EXPERIMENT: "the four questions are not all answered, or no baseline timings",
    Status.PILOT: "answered and measured; evidence not yet *saving*",
    Status.PROVEN: "evidence *saving* with checkpoints in place: remove **one** at a time",
    Status.AUTONOMOUS: "proven with no checkpoints left (never for high risk)",
}

policy = store().policy
st.title("Policy")
st.subheader(md_escape(policy.name), anchor=False)
st.caption(f"Version **{md_escape(policy.version)}** · {md_escape(policy.mission)}")

st.markdown("#### Risk levels — a workflow takes the highest level any signal reaches")
LEVEL_TEXT = {
    RiskLevel.HIGH: "Review before anything takes effect",
    RiskLevel.MEDIUM: "Reviewed drafts and team automation",
    RiskLevel.LOW: "Internal drafts and analysis; everything that raises no higher signal",
}
for (level, rules), column in zip(policy.risk.levels(), st.columns(3), strict=True):
    with column, st.container(border=True):
        st.markdown(f"**{level.title()}** — {LEVEL_TEXT[level]}")
        for label, values in (
            ("changes", rules.changes),
            ("data touched", rules.data_touched),
            ("who sees it", rules.customer_impact),
        ):
            if values:
                # Values from the policy's fixed vocabulary (validated): identifiers, shown as code.
                st.markdown(f"*{label}:* " + ", ".join(f"`{v}`" for v in values))
        families: dict[str, list[KeywordSignal]] = {}
        for keyword in rules.keywords:
            families.setdefault(keyword.family or keyword.reason, []).append(keyword)
        # Many families (the published areas) fold away: the column stays readable.
        holder = st.expander(f"{len(families)} text families") if len(families) > 8 else st.container()
        with holder:
            for family, keywords in families.items():
                # Policy text is text: a stem such as `adjudicat*` must not open an emphasis.
                examples = [md_escape(e) for k in keywords for e in k.examples(6)][:8]
                needs = sorted({md_escape(p) for k in keywords for p in k.purposes})
                purpose = f" *(with a purpose: {', '.join(needs)})*" if needs else ""
                st.markdown(f"- **{md_escape(family)}** — " + ", ".join(examples) + purpose)
                if keywords[0].source:
                    st.caption(md_escape(keywords[0].source))
st.caption(
    f"Text signals are whole words in the name, manual process and expected output. A family's "
    f"people and objects count only with a purpose nearby (decide, prioritise, flag, score, ...): "
    f"alone they are a mention ({policy.risk.mention_level}). A value outside the vocabulary counts "
    f"as at least {policy.risk.unknown_value_level}; an empty data touched, changes or customer "
    f'impact is "not answered" and at least {policy.risk.unanswered_level}: unknown is not low. '
    "The exact patterns are in the policy file below."
)
precedents = policy.precedents
st.caption(
    "Second opinion from published precedents (the US federal AI use-case inventories, labelled by "
    f"their agencies): on. A workflow the rules leave low or medium is raised to high when the "
    f"precedent model's probability of high impact is above {precedents.raise_above} (signal `precedent`, "
    f"the nearest cases as evidence), flagged for review above {precedents.review_above}; it never "
    "lowers a risk."
    if precedents.enabled
    else "Second opinion from published precedents: off (the rules alone)."
)

st.markdown("#### Rollout rules — returned for every workflow")
levels = [str(level) for level in RISK_LEVELS]
rows = {
    "approval checkpoint": [policy.rollout.for_level(lv).approval_checkpoint for lv in levels],
    "minimum review": [policy.rollout.for_level(lv).min_review for lv in levels],
    "logging requirement": [policy.rollout.for_level(lv).logging_requirement for lv in levels],
    "rollback path": [policy.rollout.for_level(lv).rollback_path for lv in levels],
    "what must stay human": [policy.rollout.for_level(lv).stays_human for lv in levels],
    "checkpoints that always stay": [str(policy.rollout.for_level(lv).min_checkpoints) for lv in levels],
}
st.table(md_frame(pd.DataFrame(rows, index=levels).T))
st.caption(
    "Plus the workflow's risk level, its owner and its success metric. A workflow's own "
    "answers override these where they are at least as strict."
)

left, right = st.columns(2)
with left:
    st.markdown("#### Stop conditions — pause while any holds")
    for code, reason in STOP_CONDITIONS.items():
        st.markdown(f"- `{code}` — {reason}")
    st.markdown("#### The owner's four questions")
    for question in FOUR_QUESTIONS.values():
        st.markdown(f"- {question}")
with right:
    st.markdown("#### Status — first match wins")
    st.markdown("\n".join(f"{rank}. **{s}** — {STATUS_RULES[s]}" for rank, s in enumerate(STATUSES, 1)))
    e, k = policy.evidence, policy.checkpoints
    st.markdown("#### Evidence and the checkpoint ladder")
    st.markdown(
        f"- at least **{e.min_samples_per_phase}** samples per phase, else *insufficient*\n"
        f"- **{e.interval_level:.0%}** interval for the saving per loop, from the workflow's design: "
        f"{designs_phrase()} (below)\n"
        f"- a loop above **{e.max_loop_minutes:,.0f}** minutes is rejected at upload\n"
        f"- hours per week: run rate over the last **{e.run_rate_weeks}** weeks\n"
        f"- after a checkpoint goes: **{k.fresh_evidence_weeks}** weeks and **{k.fresh_evidence_samples}** "
        "fresh after-samples, with no incident, before the next"
    )
    st.markdown("#### How a saving is measured")
    st.markdown(
        "The strongest design the data supports, per workflow:\n"
        + "\n".join(f"- **{code.replace('_', ' ')}** — {DESIGN_HELP[code]}" for code in ESTIMATE_DESIGNS)
    )

st.markdown("#### History")
st.dataframe(policy_history(store()), hide_index=True)
with st.expander("Policy file (TOML)"):
    st.code(policy.source_text, language="toml")
st.download_button(
    "Download the policy file",
    policy.source_text,
    file_name=f"policy-{policy.version}.toml",
    mime="application/toml",
    key="policy_download",
)
