"""The attention mask of the unified encoder-decoder (paper section 3.2).

The sequence is [image patches][masked text][target text]. "We apply bidirectional masking to
both the visual inputs and masked linguistic inputs, and we apply causal masking to the complete
linguistic inputs." So, for a query token q and a key token k:

    allowed(q, k) = valid(k) and (prefix(k) or (target(q) and target(k) and k <= q))

where prefix means the image or masked-text segment. Prefix queries see the whole prefix and no
target; target queries see the whole prefix and the target up to themselves. Padding keys are
never seen. Every query may also see itself, so a padding query (which nobody reads) has at
least one key and its softmax stays finite.

The same function builds the mask of one decoding step with a KV cache: the queries are the last
positions of the cached sequence (``q_start``).

Legend: B batch, Q queries, K keys (the whole sequence so far).
"""

from __future__ import annotations

import torch

from model.config import SEGMENT_TARGET


def attention_mask(
    segment_BK: torch.Tensor, valid_BK: torch.Tensor, q_start: int = 0
) -> torch.Tensor:
    """Boolean (B, 1, Q, K) mask, True where query ``q_start + i`` may attend to key ``j``."""
    k_len = segment_BK.shape[1]
    device = segment_BK.device
    k_idx = torch.arange(k_len, device=device)
    q_idx = torch.arange(q_start, k_len, device=device)
    target_BK = segment_BK == SEGMENT_TARGET
    target_BQ = target_BK[:, q_start:]
    causal_QK = k_idx[None, :] <= q_idx[:, None]
    seen_BQK = ~target_BK[:, None, :] | (target_BQ[:, :, None] & target_BK[:, None, :] & causal_QK)
    allowed_BQK = (valid_BK[:, None, :] & seen_BQK) | (k_idx[None, :] == q_idx[:, None])
    return allowed_BQK[:, None]
