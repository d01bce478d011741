"""The thought codec: the bytes of one unit <-> one point of the thought field.

DESIGN.md section 3, "Thought codec" and "Two duties of the codec that pull apart".

**Encoder.** ``[BOS] b_1 .. b_n`` goes through a bidirectional byte transformer (padding
masked out of every key). With ``ngram_max > 0`` each byte's embedding first gets the
hashed embeddings of the byte n-grams ending there (:func:`ngram_ids`; BLT's hash
embeddings, Pagnoni et al., 2024): without them the encoder learns which word a byte
is in so slowly that it did not bind roles at CPU step counts (experiments/LOG.md).
``K`` learned queries pool the states by attention, and their outputs are concatenated
and projected, because binding several roles (who did what to whom)
into one mean-pooled vector is the known hard part: a probe with one pooled vector got
recall 0.96 but only 17% exact reconstruction (ENV-NOTES.md). The projection gives a
meaning part ``m`` and a surface part ``s``, each normalised; the thought is

    z = [ sqrt(1 - r^2) * m/|m| ,  r * s/|s| ]        |z| = 1,  r = surface_norm

so every thought has unit norm, quotes of one meaning can be aligned on ``m`` alone,
and the phrasing lives in the small part ``s``. :func:`to_sphere` is the same map for
any vector (the heads use it to put predictions back on the field). The BOS position is
always present, so an empty unit still has a well-defined thought.

**Decoder.** A causal mini-LLaMA over bytes. The thought is projected to ``P`` prefix
positions (strong conditioning, not one vector), then a start token says the language
(its tag, or BOS for "unspecified"), then the bytes:

    input   [z_1 .. z_P] [lang] b_1 .. b_n
    target               b_1 .. b_n  EOS

Generation is greedy or nucleus (top-p) sampling with a key/value cache, stopping at
EOS or at ``max_bytes``; a row that wrote EOS leaves the batch and its cache, so a batch
costs the steps of its units, not its longest unit's steps times its rows.

Training note (measured on the tiny preset): with one Adam learning rate for both, the
encoder collapses every thought onto a single line within a few steps (the decoder's
first want is a shared shift toward the byte unigram, and Adam moves the small initial
weights coherently); an encoder rate 10x below the decoder's avoids it
(``tests/test_codec.py`` overfits six sentences exactly that way).

Token ids: bytes 0..255, PAD 256, BOS 257, EOS 258, language tags from 259.

Shape legend: B batch · L bytes · D width · K pool slots · P prefix · Z thought dim ·
V vocab.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ltm.config import BOS, EOS, N_BYTES, PAD, CodecConfig
from ltm.llama import CrossAttention, RMSNorm, Stack, init_weights

__all__ = ["to_bytes", "pack", "decoder_targets", "to_sphere", "meaning_part", "meaning_only",
           "ngram_ids", "ngram_tables", "add_ngrams", "Centering", "ThoughtEncoder",
           "ThoughtDecoder"]


def to_bytes(unit: str | bytes, max_bytes: int) -> bytes:
    """UTF-8 bytes of a unit (unencodable characters replaced), cut to ``max_bytes``."""
    raw = unit if isinstance(unit, bytes | bytearray) else unit.encode("utf-8", "replace")
    return bytes(raw[:max_bytes])


def pack(units: Sequence[str | bytes], max_bytes: int,
         device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    """Units -> ``ids`` (B, L) padded with PAD and ``lengths`` (B,); L = longest unit."""
    raws = [to_bytes(u, max_bytes) for u in units]
    lengths = torch.tensor([len(r) for r in raws], dtype=torch.long)
    ids = torch.full((len(raws), max((len(r) for r in raws), default=0)), PAD, dtype=torch.long)
    for i, r in enumerate(raws):
        if r:
            ids[i, : len(r)] = torch.frombuffer(bytearray(r), dtype=torch.uint8).long()
    return ids.to(device), lengths.to(device)


def decoder_targets(ids: Tensor, lengths: Tensor) -> Tensor:
    """Targets (B, L+1) for the decoder: the bytes, EOS after the last, PAD after that."""
    B = ids.shape[0]
    targets = torch.cat([ids, ids.new_full((B, 1), PAD)], dim=1)  # (B, L+1)
    targets[torch.arange(B, device=ids.device), lengths] = EOS
    return targets


def to_sphere(v: Tensor, meaning_dim: int, surface_norm: float) -> Tensor:
    """Map any (..., Z) vector onto the thought field: meaning and surface parts each
    normalised, weighted ``sqrt(1 - r^2)`` and ``r``, so the whole has unit norm."""
    m, s = v[..., :meaning_dim], v[..., meaning_dim:]
    m = F.normalize(m, dim=-1, eps=1e-12) * (1.0 - surface_norm**2) ** 0.5
    if s.shape[-1] == 0:
        return m
    return torch.cat([m, F.normalize(s, dim=-1, eps=1e-12) * surface_norm], dim=-1)


def meaning_part(thoughts: Tensor, meaning_dim: int) -> Tensor:
    """The unit-norm meaning direction (..., meaning_dim) of thoughts (..., Z)."""
    return F.normalize(thoughts[..., :meaning_dim], dim=-1, eps=1e-12)


def meaning_only(thoughts: Tensor, cfg: CodecConfig) -> Tensor:
    """Thoughts (..., Z) with the surface part zeroed and the meaning part renormalised
    to unit norm: what the decoder gets when it must say a meaning in a language and
    phrasing of its own (the cross-language term of training)."""
    m = meaning_part(thoughts, cfg.meaning_dim)  # (..., M), unit norm
    return torch.cat([m, m.new_zeros(*m.shape[:-1], cfg.surface_dim)], dim=-1)  # (..., Z)


def ngram_ids(x: Tensor, n: int, buckets: int) -> Tensor:
    """Bucket (B, T) of the ``n`` tokens ending at each position of ``x`` (B, T).

    Positions before the start count as BOS, so a row's ids depend only on its own
    tokens up to that position (padding on the right changes nothing before it). The
    hash is a polynomial in the token ids, taken modulo ``buckets``.
    """
    B, T = x.shape
    h = torch.zeros_like(x)
    for k in range(n):  # token k places back, BOS before the start
        k = min(k, T)
        back = torch.cat([x.new_full((B, k), BOS), x[:, : T - k]], dim=1)  # (B, T)
        h = (h * 1_000_003 + back + 1) % 2_147_483_647
    return h % buckets


def ngram_tables(ngram_max: int, buckets: int, width: int) -> nn.ModuleList:
    """One embedding table of ``buckets`` rows per n = 2 .. ``ngram_max`` (none for 0)."""
    return nn.ModuleList(nn.Embedding(buckets, width) for _ in range(2, ngram_max + 1))


def add_ngrams(e: Tensor, x: Tensor, tables: nn.ModuleList, buckets: int) -> Tensor:
    """Embeddings ``e`` (B, T, D) of tokens ``x`` (B, T) plus, for each n, the row of
    :func:`ngram_ids` of the n tokens ending at each position (``tables[0]`` is n = 2)."""
    for n, table in enumerate(tables, start=2):
        e = e + table(ngram_ids(x, n, buckets))
    return e


class Centering(nn.Module):
    """Removes the mean thought before the sphere (BatchNorm's centring, nothing else).

    In training it subtracts the batch mean and updates a running average of it; in
    evaluation it subtracts the running average, so a unit's thought is the same alone
    and inside any batch. Why: at the start of training, Adam moves the encoder's
    weights coherently toward whatever all units share (the decoder's first want is the
    byte unigram, and the alignment loss is lowest-effort at ``ln N`` with everything on
    one point), and every thought lands on one line within a few steps. With the mean
    removed, the shared direction carries no signal and no gradient (measured in
    experiments/LOG.md: mean pairwise cosine 1.000 without, about 0 with).
    """

    def __init__(self, dim: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer("running_mean", torch.zeros(dim))  # (Z,)

    def forward(self, z: Tensor) -> Tensor:
        """``z`` (B, Z) -> (B, Z) with the mean removed."""
        if self.training and z.shape[0] > 1:
            mean = z.mean(0)  # (Z,)
            with torch.no_grad():
                self.running_mean.lerp_(mean.detach(), self.momentum)
            return z - mean
        return z - self.running_mean


class ThoughtEncoder(nn.Module):
    """Bytes of a unit -> a thought (unit norm, meaning part then surface part)."""

    def __init__(self, cfg: CodecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        W = cfg.width
        self.embed = nn.Embedding(cfg.vocab, W)
        self.ngrams = ngram_tables(cfg.ngram_max, cfg.ngram_buckets, W)
        self.stack = Stack(W, cfg.heads, cfg.enc_layers, cfg.mlp_hidden, cfg.rope_base)
        self.queries = nn.Parameter(torch.zeros(cfg.pool_slots, W))
        self.pool = CrossAttention(W, cfg.heads)
        self.pool_norm = RMSNorm(cfg.pool_slots * W)
        self.proj = nn.Linear(cfg.pool_slots * W, cfg.dim, bias=False)
        self.center = Centering(cfg.dim) if cfg.center else nn.Identity()
        init_weights(self, cfg.enc_layers)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        """``ids`` (B, L) PAD-padded, ``lengths`` (B,) -> thoughts (B, Z) of unit norm."""
        h, _, valid = self.byte_states(ids, lengths)
        return self.pool_thought(h, valid)

    def byte_states(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The byte blocks' states ``h`` (B, L+1, D) of ``x = [BOS] ids`` (B, L+1), cut to
        ``max_bytes``, and ``valid`` (B, L+1), which marks real positions (BOS always)."""
        B = ids.shape[0]
        ids, lengths = ids[:, : self.cfg.max_bytes], lengths.clamp(max=self.cfg.max_bytes)
        x = torch.cat([ids.new_full((B, 1), BOS), ids], dim=1)  # (B, L+1)
        valid = torch.arange(x.shape[1], device=ids.device)[None, :] <= lengths[:, None]
        e = add_ngrams(self.embed(x), x, self.ngrams, self.cfg.ngram_buckets)  # (B, L+1, D)
        h = self.stack(e, causal=False, mask=valid[:, None, None, :])  # (B, L+1, D)
        return h, x, valid

    def pool_thought(self, h: Tensor, valid: Tensor) -> Tensor:
        """States ``h`` (B, N, D) with ``valid`` (B, N) -> thoughts (B, Z): the ``K``
        queries pool the valid states, then projection, centring and the sphere."""
        B = h.shape[0]
        mask = valid[:, None, None, :]  # (B, 1, 1, N)
        q = self.queries[None].expand(B, -1, -1)  # (B, K, D)
        pooled = self.pool(q, h, mask)  # (B, K, D)
        z = self.center(self.proj(self.pool_norm(pooled.reshape(B, -1))))  # (B, Z)
        return to_sphere(z, self.cfg.meaning_dim, self.cfg.surface_norm)


class ThoughtDecoder(nn.Module):
    """A mini-LLaMA over bytes, conditioned on a thought (prefix) and a language tag."""

    def __init__(self, cfg: CodecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        W = cfg.width
        self.embed = nn.Embedding(cfg.vocab, W)
        self.ngrams = ngram_tables(cfg.ngram_max if cfg.decoder_ngrams else 0,
                                   cfg.ngram_buckets, W)
        self.cond = nn.Linear(cfg.dim, cfg.prefix_len * W)
        self.stack = Stack(W, cfg.heads, cfg.dec_layers, cfg.mlp_hidden, cfg.rope_base)
        self.out = nn.Linear(W, cfg.vocab, bias=False)
        # only bytes and EOS may be written
        allowed = torch.zeros(cfg.vocab, dtype=torch.bool)
        allowed[:N_BYTES] = True
        allowed[EOS] = True
        self.register_buffer("writable", allowed, persistent=False)  # (V,)
        init_weights(self, cfg.dec_layers)

    def start(self, thoughts: Tensor, lang: Tensor | None) -> Tensor:
        """Prefix and start token embedded: (B, P+1, D). ``lang`` (B,) holds start ids
        (see :meth:`ltm.config.CodecConfig.lang_id`); ``None`` means BOS for all."""
        B = thoughts.shape[0]
        prefix = self.cond(thoughts).view(B, self.cfg.prefix_len, -1)  # (B, P, D)
        if lang is None:
            lang = thoughts.new_full((B,), BOS, dtype=torch.long)
        return torch.cat([prefix, self.embed_tokens(lang[:, None])], dim=1)  # (B, P+1, D)

    def embed_tokens(self, tokens: Tensor) -> Tensor:
        """Input vectors (B, T, D) of the start token and the bytes after it (B, T), with
        :attr:`~ltm.config.CodecConfig.decoder_ngrams` plus the hashed n-grams ending at
        each position (BOS before the start token)."""
        return add_ngrams(self.embed(tokens), tokens, self.ngrams, self.cfg.ngram_buckets)

    def forward(self, thoughts: Tensor, ids: Tensor, lang: Tensor | None = None) -> Tensor:
        """Teacher-forced logits (B, L+1, V) for :func:`decoder_targets` of ``ids`` (B, L)."""
        first = (lang if lang is not None else ids.new_full((ids.shape[0],), BOS))[:, None]
        # the bytes' n-grams reach back over the start token (B, L, D)
        body = self.embed_tokens(torch.cat([first, ids], dim=1))[:, 1:]
        x = torch.cat([self.start(thoughts, lang), body], dim=1)  # (B, P+1+L, D)
        h = self.stack(x, causal=True)  # (B, P+1+L, D)
        return self.out(h[:, self.cfg.prefix_len :])  # (B, L+1, V)

    def _next(self, logits: Tensor, method: str, top_p: float, temperature: float,
              generator: torch.Generator | None, rows: Tensor, batch: int) -> Tensor:
        """The next token (A,) from ``logits`` (A, V) already masked to writable tokens,
        for the rows ``rows`` (A,) of a batch of ``batch`` still writing. Nucleus sampling
        draws for all ``batch`` rows, so that a row's draws do not depend on when the
        others finished (the same units as when no row left the batch)."""
        if method == "greedy":
            return logits.argmax(-1)
        probs = torch.softmax(logits / temperature, dim=-1)  # (A, V)
        sorted_p, order = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < top_p  # the smallest head reaching top_p
        full = sorted_p.new_zeros(batch, sorted_p.shape[1])  # (B, V): finished rows draw
        full[:, 0] = 1.0  # their first token, and it is thrown away
        full[rows] = sorted_p * keep
        pick = torch.multinomial(full, 1, generator=generator)[rows]  # (A, 1)
        return order.gather(-1, pick)[:, 0]

    @torch.no_grad()
    def generate(self, thoughts: Tensor, lang: Tensor | None = None, *,
                 method: str = "greedy", top_p: float = 0.9, temperature: float = 1.0,
                 max_bytes: int | None = None,
                 generator: torch.Generator | None = None) -> list[bytes]:
        """Write one unit per thought (B, Z): ``greedy`` or ``nucleus`` sampling, each
        unit ending at EOS or after ``max_bytes`` (default: the config's)."""
        if method not in ("greedy", "nucleus"):
            raise ValueError(f"method must be 'greedy' or 'nucleus', got {method!r}")
        out, _ = self._write(thoughts, lang, method, top_p, temperature, max_bytes, generator,
                             score=False)
        return _units(out)

    @torch.no_grad()
    def read(self, thoughts: Tensor, lang: Tensor | None = None,
             max_bytes: int | None = None) -> tuple[list[bytes], Tensor]:
        """The greedy unit of every thought (B, Z) and how surely the decoder writes it:
        the mean nats (B,) of its tokens, EOS included (a unit cut at ``max_bytes``
        counts its bytes only)."""
        out, nats = self._write(thoughts, lang, "greedy", 1.0, 1.0, max_bytes, None,
                                score=True)
        tokens = (out != PAD).sum(1).clamp(min=1)  # (B,)
        return _units(out), nats / tokens

    def _forced(self, thoughts: Tensor, lang: Tensor | None, units: Sequence[bytes],
                limit: int) -> tuple[Tensor, Tensor, Tensor]:
        """Given units (cut at ``limit`` bytes) read teacher-forced from their thoughts
        (B, Z): their lengths (B,), the tokens written at every place (B, L+1; EOS
        last), and the decoder's log-probabilities there over writable tokens
        (B, L+1, V)."""
        ids, lengths = pack(units, limit, thoughts.device)
        logp = self(thoughts, ids, lang).float().masked_fill(~self.writable, float("-inf"))
        return lengths, decoder_targets(ids, lengths), logp.log_softmax(-1)

    @torch.no_grad()
    def nats(self, thoughts: Tensor, lang: Tensor | None, units: Sequence[bytes]) -> Tensor:
        """How surely the decoder writes given units, one per thought (B, Z): the mean
        nats (B,) of their tokens, teacher-forced, EOS included (a unit of ``max_bytes``
        counts its bytes only): what :meth:`read` reports for its own greedy units."""
        lengths, targets, logp = self._forced(thoughts, lang, units, self.cfg.max_bytes)
        logp = logp.gather(-1, targets[..., None])[..., 0]  # (B, L+1)
        place = torch.arange(targets.shape[1], device=targets.device)[None]  # (1, L+1)
        keep = (place <= lengths[:, None]) & (place < self.cfg.max_bytes)  # a cut unit: no EOS
        return -logp.where(keep, 0.0).sum(1) / keep.sum(1)

    @torch.no_grad()
    def branch(self, thoughts: Tensor, lang: Tensor | None, units: Sequence[bytes], k: int,
               min_logp: float, max_bytes: int | None = None) -> tuple[list[int], list[bytes]]:
        """Other readings of written units: for each unit (one per thought (B, Z)), at up
        to ``k`` of its least sure places (the smallest gap in log-probability between
        the token written there and the decoder's best other token; a place is a byte or
        the end, so a reading may come out shorter or longer), that other token, then
        greedy to the end. Only places where the other token has log-probability at
        least ``min_logp`` branch (a wildly unlikely byte makes a misspelling, which the
        encoder may still put near the thought), and none at or past ``max_bytes``.
        Returns, unit by unit and least sure place first, the index of the unit each new
        reading comes from and its bytes; a pure function of its inputs."""
        limit = self.cfg.max_bytes if max_bytes is None else max_bytes
        lengths, targets, logp = self._forced(thoughts, lang, units, limit)  # (B, L+1, V)
        written = logp.gather(-1, targets[..., None])[..., 0]  # (B, L+1)
        other = logp.scatter(-1, targets[..., None], float("-inf")).max(-1)  # best other
        place = torch.arange(targets.shape[1], device=targets.device)[None]  # (1, L+1)
        gap = (written - other.values).masked_fill(
            (place > lengths[:, None]) | (place >= limit) | (other.values < min_logp),
            float("inf"))
        gaps, where = gap.topk(min(k, gap.shape[1]), dim=-1, largest=False)  # (B, k)
        at, j = torch.nonzero(gaps.isfinite(), as_tuple=True)  # unit at's j-th least sure
        if len(at) == 0:
            return [], []
        p = where[at, j]  # (N,) the place each new reading branches at
        # (B, limit): the written tokens, -1 past them
        padded = targets.new_full((len(targets), limit), -1)
        padded[:, : min(limit, targets.shape[1])] = targets[:, :limit]
        cols = torch.arange(limit, device=targets.device)[None]  # (1, limit)
        forced = padded[at].masked_fill(cols >= p[:, None], -1)  # the unit before p
        forced[torch.arange(len(at), device=targets.device), p] = other.indices[at, p]
        out, _ = self._write(thoughts[at], None if lang is None else lang[at], "greedy", 1.0,
                             1.0, limit, None, score=False, forced=forced)
        return at.tolist(), _units(out)

    def _write(self, thoughts: Tensor, lang: Tensor | None, method: str, top_p: float,
               temperature: float, max_bytes: int | None, generator: torch.Generator | None,
               score: bool, forced: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Tokens (B, max_bytes), PAD after EOS, and the nats (B,) of those written
        (zeros unless ``score``: generation need not pay for a log-softmax per step).
        ``forced`` (B, max_bytes) holds a token to write at each place, or -1 where the
        decoder chooses."""
        B = thoughts.shape[0]
        limit = self.cfg.max_bytes if max_bytes is None else max_bytes
        caches = self.stack.new_caches()
        h = self.stack(self.start(thoughts, lang), causal=True, caches=caches)  # (B, P+1, D)
        out = torch.full((B, limit), PAD, dtype=torch.long, device=thoughts.device)
        nats = torch.zeros(B, device=thoughts.device)
        # the rows still writing: a row that wrote EOS leaves the batch (and the caches),
        # so one long unit costs its own steps only, not the whole batch's
        rows = torch.arange(B, device=thoughts.device)  # (A,)
        # the last tokens, which the n-grams of the next input reach back over
        window = torch.full((B, len(self.ngrams) + 1), BOS, dtype=torch.long,
                            device=thoughts.device)
        window[:, -1] = BOS if lang is None else lang
        for i in range(limit):
            logits = self.out(h[:, -1]).masked_fill(~self.writable, float("-inf"))  # (A, V)
            tok = self._next(logits, method, top_p, temperature, generator, rows, B)  # (A,)
            if forced is not None:
                tok = torch.where(forced[rows, i] >= 0, forced[rows, i], tok)
            if score:
                nats[rows] -= torch.log_softmax(logits.float(), -1).gather(-1, tok[:, None])[:, 0]
            out[rows, i] = tok
            going = tok != EOS  # (A,)
            if not bool(going.any()):
                break
            window = torch.cat([window[:, 1:], tok[:, None]], dim=1)  # (A, n)
            if not bool(going.all()):
                rows, window = rows[going], window[going]
                for cache in caches:
                    cache.keep(going)
            h = self.stack(self.embed_tokens(window)[:, -1:], causal=True,
                           caches=caches)  # (A, 1, D)
        return out, nats


def _units(tokens: Tensor) -> list[bytes]:
    """The bytes of each row of written tokens (B, L): EOS, PAD and language tokens dropped."""
    return [bytes(t for t in row if t < N_BYTES) for row in tokens.tolist()]
