"""A BERT sequence classifier that reads the mean of the last hidden states, not [CLS].

e5 (the multilingual base) was trained to be read by mean pooling; its [CLS] position carries
no trained sentence summary and it has no pooler. `BertMeanPoolingForSequenceClassification` is
BERT with that reading and a linear head. Its config type is registered with transformers'
Auto classes when this module is imported, so a folder saved from it loads through
`AutoModelForSequenceClassification` like any other (`nlp.checkpoint` imports it).

A config with ``aspect_names`` adds `nlp.aspect_heads.AspectHeads` on the same token states:
one forward pass then gives the review's sentiment and, per aspect, a mention logit, polarity
logits and the attention that says which tokens were read (`SentimentAspectOutput`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    BertConfig,
    BertModel,
    BertPreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from nlp.aspect_heads import AspectHeads

MODEL_TYPE = "bert-mean-pooling"
POOLING = ("cls", "mean")


class BertMeanPoolingConfig(BertConfig):
    model_type = MODEL_TYPE

    def __init__(self, aspect_names: list[str] | tuple[str, ...] = (), **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.aspect_names = list(aspect_names)


@dataclass
class SentimentAspectOutput(SequenceClassifierOutput):
    """The review's logits and, with aspect heads, per aspect: mention logits (B, A), polarity
    logits (B, A, labels) and attention over the tokens (B, A, T)."""

    aspect_mention_logits: torch.Tensor | None = None
    aspect_polarity_logits: torch.Tensor | None = None
    aspect_attention: torch.Tensor | None = None


class BertMeanPoolingForSequenceClassification(BertPreTrainedModel):
    config_class = BertMeanPoolingConfig

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = torch.nn.Dropout(config.hidden_dropout_prob)
        self.classifier = torch.nn.Linear(config.hidden_size, config.num_labels)
        names = getattr(config, "aspect_names", None) or []
        self.aspects = (AspectHeads(config.hidden_size, len(names), config.num_labels,
                                    config.hidden_dropout_prob) if names else None)
        self.post_init()

    def _init_weights(self, module: torch.nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, AspectHeads):
            module.reset_parameters(self.config.initializer_range)

    def _hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None) -> torch.Tensor:
        return self.bert(input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids).last_hidden_state

    @staticmethod
    def _mean(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
               token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """The mean of the last hidden states over the real (unpadded) tokens."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        return self._mean(self._hidden(input_ids, attention_mask, token_type_ids),
                          attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                **_: object) -> SentimentAspectOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self._hidden(input_ids, attention_mask, token_type_ids)
        logits = self.classifier(self.dropout(self._mean(hidden, attention_mask)))
        loss = None
        if labels is not None:
            loss = torch.nn.functional.cross_entropy(logits, labels)
        if self.aspects is None:
            return SentimentAspectOutput(loss=loss, logits=logits)
        mention, polarity, attention = self.aspects(hidden, attention_mask)
        return SentimentAspectOutput(loss=loss, logits=logits, aspect_mention_logits=mention,
                                     aspect_polarity_logits=polarity,
                                     aspect_attention=attention)


AutoConfig.register(MODEL_TYPE, BertMeanPoolingConfig)
AutoModelForSequenceClassification.register(BertMeanPoolingConfig,
                                            BertMeanPoolingForSequenceClassification)
