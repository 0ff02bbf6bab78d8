"""Experiment-config section for the `llm` domain: base model, LoRA, SFT, reward model, PPO, scenarios, rules.

Every number the three training steps use lives here, so a step's behaviour is fully described
by the YAML and the params a step receives are ``LLMConfig.model_dump()`` (plain JSON).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from resources.config import StrictModel


class ModelSource(StrictModel):
    """Where the base model comes from: a Hugging Face id, a local directory, a ``gs://`` prefix
    or a ``.gguf`` file. ``${VAR}`` is expanded (e.g. ``${RETENTION_MIRROR}``)."""

    source: str = "facebook/opt-350m"
    # The tokenizer's source when it is not next to the weights; defaults to ``source``.
    tokenizer: str | None = None
    # Generation and scoring stop here: prompts are cut from the left, responses from the right.
    max_length: int = Field(512, ge=16)


class LoraSettings(StrictModel):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    # None: peft's default per architecture (OPT, Llama: q_proj, v_proj).
    target_modules: list[str] | None = None
    # Adapt only the top N transformer layers (None: all). Backward then stops at the lowest
    # adapted layer, so a step costs roughly a forward plus N/L of a backward.
    top_layers: int | None = Field(None, ge=1)


class SFTSettings(StrictModel):
    lora: LoraSettings = LoraSettings()
    learning_rate: float = Field(2e-4, gt=0)
    batch_size: int = Field(8, ge=1)
    epochs: int = Field(1, ge=1)
    # Optimiser steps cap (None: every batch of every epoch); keeps local runs short.
    max_steps: int | None = Field(None, ge=1)
    # Only the best-ranked reply of each prompt (OASST1 rank 0) is a demonstration.
    best_reply_only: bool = True
    max_train_pairs: int | None = Field(None, ge=1)
    max_eval_pairs: int | None = Field(None, ge=1)
    seed: int = 0


class RewardSettings(StrictModel):
    lora: LoraSettings = LoraSettings()
    learning_rate: float = Field(1e-4, gt=0)
    # The score head starts random (std 0.02) while LoRA starts as a no-op; at the LoRA rate the
    # head barely leaves its random projection in a short run, so it gets its own rate.
    # None: ``learning_rate``.
    head_learning_rate: float | None = Field(None, gt=0)
    batch_size: int = Field(8, ge=1)  # pairs per optimiser step
    # Pairs per forward/backward pass (gradients accumulate up to batch_size); None: batch_size.
    # Activations dominate memory: 16 sequences of 256 tokens through SmolLM2's 30 fp32 layers
    # keep about 7 GB for backward, 4 pairs about 2 GB.
    micro_batch_size: int | None = Field(None, ge=1)
    epochs: int = Field(1, ge=1)
    max_steps: int | None = Field(None, ge=1)
    max_train_pairs: int | None = Field(None, ge=1)
    max_eval_pairs: int | None = Field(None, ge=1)
    # The reward-model anchor the issue gives for OPT-350m on HH-RLHF is 0.60-0.65 held-out accuracy.
    min_eval_accuracy: float = Field(0.5, ge=0, le=1)
    # What a failed ``beats_length_baseline`` check does. block: an ERROR, and PPO is skipped;
    # warn: a WARN shown in the UI, and PPO trains on this reward model anyway. For profiles whose
    # budget leaves the reward model near chance, where the check's verdict is mostly noise.
    gate: Literal["block", "warn"] = "block"
    seed: int = 0


class KLSettings(StrictModel):
    """Adaptive KL controller of Ziegler et al. 2019 ("Fine-Tuning Language Models from Human
    Preferences", section 2.2): beta_{t+1} = beta_t (1 + K_beta e_t),
    e_t = clip(KL_t / target - 1, -0.2, 0.2), K_beta = n_t / horizon. Their defaults are
    target 6 nats, horizon 10000 episodes; lm-human-preference-details uses init 0.15."""

    init_beta: float = Field(0.15, ge=0)
    target: float | None = Field(6.0, gt=0)  # None: fixed beta
    horizon: int = Field(10_000, ge=1)
    error_clip: float = Field(0.2, gt=0)


class PPOSettings(StrictModel):
    """PPO hyperparameters, as in CleanRL / lm-human-preference-details."""

    lora: LoraSettings = LoraSettings()
    learning_rate: float = Field(1e-5, gt=0)
    steps: int = Field(20, ge=1)  # one step = one batch of rollouts, then ppo_epochs of updates
    rollouts_per_step: int = Field(16, ge=1)
    minibatch_size: int = Field(8, ge=1)
    ppo_epochs: int = Field(4, ge=1)
    max_new_tokens: int = Field(48, ge=1)
    temperature: float = Field(0.7, gt=0)
    gamma: float = Field(1.0, gt=0, le=1)
    lam: float = Field(0.95, ge=0, le=1)
    clip_range: float = Field(0.2, gt=0)
    clip_range_value: float = Field(0.2, gt=0)
    value_coef: float = Field(0.1, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    kl: KLSettings = KLSettings()
    # Score added when a response never ends (lm-human-preference-details penalises truncation).
    no_eos_penalty: float | None = None
    seed: int = 0

    @model_validator(mode="after")
    def _minibatches_fit(self) -> "PPOSettings":
        if self.rollouts_per_step % self.minibatch_size:
            raise ValueError(
                f"rollouts_per_step ({self.rollouts_per_step}) must be a multiple of minibatch_size ({self.minibatch_size})"
            )
        return self


class Offer(StrictModel):
    name: str
    # The discount the message may mention, in percent; None for a non-monetary offer.
    discount_percent: int | None = Field(None, ge=1, le=100)
    # Words that show the message mentions this offer (case-insensitive).
    keywords: list[str] = Field(min_length=1)


# Keywords avoid words the scenario itself uses for the customer (contract, tech support).
DEFAULT_OFFERS = [
    Offer(name="a 20% discount on the next three monthly bills", discount_percent=20, keywords=["20%", "discount"]),
    Offer(name="a free upgrade to premium tech support for six months", keywords=["upgrade", "premium"]),
    Offer(name="a switch to a one-year contract at 10% off", discount_percent=10, keywords=["10%", "10 percent"]),
]


class RiskBand(StrictModel):
    # How the prompt states the risk, e.g. "high risk of leaving"; never the figure itself.
    label: str = Field(min_length=1)
    # risk_model's calibrated P(churn) from which this band applies.
    min_risk: float = Field(ge=0, le=1)


# The telco churn rate is 26.5%: "moderate" starts a little below it, "high" where leaving is
# likelier than staying.
DEFAULT_RISK_BANDS = [
    RiskBand(label="high risk of leaving", min_risk=0.5),
    RiskBand(label="moderate risk of leaving", min_risk=0.2),
    RiskBand(label="low risk of leaving", min_risk=0.0),
]


class ScenarioSettings(StrictModel):
    """How a scenario uses the customer's churn risk (risk_model's score, column ``churn_risk``)."""

    risk_bands: list[RiskBand] = Field(DEFAULT_RISK_BANDS, min_length=1)
    # Customers are drawn with probability proportional to churn_risk ** risk_weight_power
    # (0: uniformly). Weighting rather than a risk floor favours the customers a message is for
    # while every band still reaches the policy, so it learns to write for each one.
    risk_weight_power: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _bands_cover_every_risk(self) -> "ScenarioSettings":
        floors = [band.min_risk for band in self.risk_bands]
        if 0.0 not in floors:
            raise ValueError("risk_bands: one band must have min_risk 0, so every customer gets a band")
        if len(set(floors)) != len(floors):
            raise ValueError(f"risk_bands: min_risk values must be distinct, got {floors}")
        return self

    def band(self, risk: float) -> str:
        """The label of the highest band whose ``min_risk`` ``risk`` reaches."""
        return max((b for b in self.risk_bands if risk >= b.min_risk), key=lambda b: b.min_risk).label


class RulesSettings(StrictModel):
    """What a retention message may not do; the asset check fails above ``max_violation_rate``."""

    max_words: int = Field(120, ge=1)
    banned_phrases: list[str] = [
        "guarantee", "act now", "last chance", "risk-free", "you will regret", "final warning",
    ]  # fmt: skip
    # Customer fields whose values must never be echoed back (personal data).
    # churn_risk is matched as the figure (0.73, 73%, 73 percent); see rules.risk_echoed.
    personal_fields: list[str] = ["customerID", "TotalCharges", "MonthlyCharges", "PaymentMethod", "churn_risk"]
    max_violation_rate: float = Field(0.2, ge=0, le=1)
    # Messages generated for the gate (from held-out customers).
    probe_customers: int = Field(16, ge=1)


class LLMConfig(StrictModel):
    model: ModelSource = ModelSource()
    sft: SFTSettings = SFTSettings()
    reward: RewardSettings = RewardSettings()
    ppo: PPOSettings = PPOSettings()
    offers: list[Offer] = Field(DEFAULT_OFFERS, min_length=1)
    scenarios: ScenarioSettings = ScenarioSettings()
    rules: RulesSettings = RulesSettings()
    # Torch intra-op threads for a step (0: torch's default).
    torch_threads: int = Field(0, ge=0)
    # bf16 autocast for the training forward/backward passes (weights and optimiser stay fp32),
    # as TRL's trainers do by default; on CPUs with AVX512-BF16/AMX it roughly halves step time.
    autocast_bf16: bool = False
