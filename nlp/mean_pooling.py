"""A BERT sequence classifier that reads the mean of the last hidden states, not [CLS].

e5 (the multilingual base) was trained to be read by mean pooling; its [CLS] position carries
no trained sentence summary and it has no pooler. `BertMeanPoolingForSequenceClassification` is
BERT with that reading and a linear head. Its config type is registered with transformers'
Auto classes when this module is imported, so a folder saved from it loads through
`AutoModelForSequenceClassification` like any other (`nlp.checkpoint` imports it).
"""

from __future__ import annotations

import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    BertConfig,
    BertModel,
    BertPreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput

MODEL_TYPE = "bert-mean-pooling"
POOLING = ("cls", "mean")


class BertMeanPoolingConfig(BertConfig):
    model_type = MODEL_TYPE


class BertMeanPoolingForSequenceClassification(BertPreTrainedModel):
    config_class = BertMeanPoolingConfig

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = torch.nn.Dropout(config.hidden_dropout_prob)
        self.classifier = torch.nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
               token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """The mean of the last hidden states over the real (unpadded) tokens."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.bert(input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                **_: object) -> SequenceClassifierOutput:
        logits = self.classifier(self.dropout(self.pooled(input_ids, attention_mask,
                                                          token_type_ids)))
        loss = None
        if labels is not None:
            loss = torch.nn.functional.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


AutoConfig.register(MODEL_TYPE, BertMeanPoolingConfig)
AutoModelForSequenceClassification.register(BertMeanPoolingConfig,
                                            BertMeanPoolingForSequenceClassification)
