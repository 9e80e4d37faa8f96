"""Aspect heads on a BERT encoder's token states: which aspects a text talks about, and how.

Per aspect, a learned query attends over the text's tokens (additive attention: a shared
tanh projection of each token state, scored against the aspect's query; padding masked out),
and the attention-weighted mean of the token states feeds two small linear outputs: a mention
logit and three polarity logits (LABELS order). One encoder pass serves every aspect, so the
aspects ride on the review model's own forward pass; the attention weights say which tokens
each aspect read, which is the evidence a person is shown.

The mask uses a large finite negative rather than -inf, so a text scored alone or inside a
padded batch gets the same weights (exp underflows to exactly 0 in float32) and the graph
exports to ONNX without NaN guards.
"""

from __future__ import annotations

import torch

MASKED = -1e4
HEAD_LR_SCALE = 10.0  # new, random heads beside a pre-trained encoder learn this much faster


class AspectHeads(torch.nn.Module):
    """``forward(hidden, attention_mask)`` -> (mention logits (B, A), polarity logits
    (B, A, labels), attention (B, A, T))."""

    def __init__(self, hidden_size: int, n_aspects: int, n_labels: int = 3,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.key = torch.nn.Linear(hidden_size, hidden_size)
        self.query = torch.nn.Parameter(torch.empty(n_aspects, hidden_size))
        self.mention_weight = torch.nn.Parameter(torch.empty(n_aspects, hidden_size))
        self.mention_bias = torch.nn.Parameter(torch.empty(n_aspects))
        self.polarity_weight = torch.nn.Parameter(torch.empty(n_aspects, hidden_size, n_labels))
        self.polarity_bias = torch.nn.Parameter(torch.empty(n_aspects, n_labels))
        self.dropout = torch.nn.Dropout(dropout)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self, std: float = 0.02) -> None:
        """Small random queries and polarity weights, zero mention weights and biases (what a
        model loaded with new heads must call: transformers only initialises its own layer
        types)."""
        self.key.weight.normal_(0.0, std)
        self.key.bias.zero_()
        self.query.normal_(0.0, std)
        self.mention_weight.zero_()
        self.mention_bias.zero_()
        self.polarity_weight.normal_(0.0, std)
        self.polarity_bias.zero_()

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        keys = torch.tanh(self.key(hidden))                                  # (B, T, H)
        scores = torch.einsum("bth,ah->bat", keys, self.query)
        scores = scores.masked_fill(attention_mask[:, None, :] == 0, MASKED)
        attention = scores.softmax(dim=-1)                                  # (B, A, T)
        pooled = self.dropout(torch.einsum("bat,bth->bah", attention, hidden))
        mention = (pooled * self.mention_weight).sum(dim=-1) + self.mention_bias
        polarity = torch.einsum("bah,ahc->bac", pooled, self.polarity_weight) + \
            self.polarity_bias
        return mention, polarity, attention


def aspect_loss(mention_logits: torch.Tensor, polarity_logits: torch.Tensor,
                mention_targets: torch.Tensor, polarity_targets: torch.Tensor,
                labelled: torch.Tensor, polarity_weights: torch.Tensor | None = None
                ) -> torch.Tensor:
    """Binary cross-entropy of the mentions over the rows that carry aspect labels
    (``labelled``: a review with star ratings only says nothing about its aspects), plus the
    (class-weighted) cross-entropy of the polarity over the labelled (row, aspect) pairs
    (``polarity_targets`` -100 elsewhere: not mentioned, conflict, or an unlabelled row)."""
    rows = labelled.bool()
    zero = mention_logits.sum() * 0.0  # keeps the graph when a batch has no labelled row
    if not rows.any():
        return zero
    mention = torch.nn.functional.binary_cross_entropy_with_logits(
        mention_logits[rows], mention_targets[rows].to(mention_logits.dtype))
    targets = polarity_targets[rows].reshape(-1)
    if not (targets >= 0).any():
        return mention + zero
    polarity = torch.nn.functional.cross_entropy(
        polarity_logits[rows].reshape(-1, polarity_logits.shape[-1]), targets,
        weight=polarity_weights, ignore_index=-100)
    return mention + polarity
