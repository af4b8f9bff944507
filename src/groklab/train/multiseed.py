"""Many models at once: K runs of one architecture and task trained in one process.

The K models' parameters are stacked on a leading K axis (torch.func.stack_module_state) and run
through the single model's own forward (the same fast path, the same float64 loss), in one of two
ways (FORWARDS):
- "vmap": `torch.func.vmap` of that forward, one batched kernel per op: what fills a GPU. Not bit
  for bit the single run: vmap's rule for `addmm` is a batched matmul and then the bias added,
  where the single `addmm` folds the bias into the product (one float32 rounding apart; measured
  on the demo transformer's MLP output, 1.2e-7, which its trajectory then amplifies).
- "loop": the stacked tensors unbound into K views and the forward run on each, so each model runs
  its single run's kernels on its single run's tensors: bit for bit, and on a CPU, where a batched
  matmul costs what the K matmuls cost, faster than vmap (bench/many_models.py --forwards).
"auto" (the default) is loop on a CPU, vmap on a GPU.

The losses are summed (the models are independent, so each one's gradient is its own), one AdamW
and the Grokfast filters act on the stacked tensors (both are elementwise: equal to K optimizers),
and each model keeps its own seed-built initialization and its
own train/test split (its data seed) and its own weight decay (AdamW's decoupled decay applied per
model, as AdamW forms it).

Optimizer settings may differ too (learning rate, betas, warm-up, the Grokfast filter and its
parameters): models that share them form a *span*, a contiguous run of rows kept as its own leaf
tensors, with its own AdamW parameter group and its own Grokfast filter, so each model's update is
torch's own for its settings, bit for bit; vmap's forward concatenates the spans' leaves (one
span: no copy), the loop takes each model's views from its span.

Each model writes an ordinary run directory (config.json, metrics.jsonl, checkpoints, state,
summary) through the single trainer's callbacks, so every later stage works unchanged; a model that
stops early has its run closed and leaves the batch (the others are restacked from their states in
the single trainer's format, the resume path, so nothing computes for a finished model); a killed
batch resumes from the runs' own states (runs whose states are at different epochs, as each saves
on its own schedule, resume as separate batches: a model's trajectory does not depend on its
batch).

Glossary: K models, n training pairs (the same count for every model: one task, one fraction).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch.func import functional_call, stack_module_state, vmap

from groklab.config import RunConfig, TrainConfig
from groklab.errors import GroklabError
from groklab.models import HookedModel, TrainingForward, build_model
from groklab.store import RunStore
from groklab.tasks import make_dataset
from groklab.train.callbacks import Checkpointer, EarlyStop, MetricsLog, Progress
from groklab.train.loop import ADAM_KEYS, Batch, accuracy, cross_entropy
from groklab.train.optim import Grokfast, lr_at, param_group
from groklab.train.run import TrainResult, resolve_device, set_threads, to_batch
from groklab.train.summary import summarize


MAX_SEEDS = 4096
FORWARDS = ("auto", "loop", "vmap")


def batch_forward(requested: str, device: torch.device) -> str:
    """The forward a batch runs: `requested`, or for "auto" loop on a CPU and vmap elsewhere."""
    if requested not in FORWARDS:
        raise GroklabError(f"batch forward {requested!r} is not one of {', '.join(FORWARDS)}")
    if requested == "auto":
        return "loop" if device.type == "cpu" else "vmap"
    return requested


def parse_seeds(text: str) -> list[int]:
    """`0-7`, `0,3,5` or `2-4,9` as a list of distinct non-negative seeds, or one line saying why."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        if not lo.isascii() or not lo.isdigit() or (sep and (not hi.isascii() or not hi.isdigit())):
            raise GroklabError(f"--seeds {text!r}: {part!r} is not a seed or a range a-b of "
                               "non-negative integers (e.g. 0-7 or 0,3,5)")
        a, b = int(lo), int(hi) if sep else int(lo)
        if b < a or b - a >= MAX_SEEDS:
            raise GroklabError(f"--seeds {text!r}: the range {part!r} must run upwards and hold "
                               f"at most {MAX_SEEDS} seeds")
        seeds += range(a, b + 1)
    duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
    if duplicates:
        raise GroklabError(f"--seeds {text!r} names seed(s) {duplicates} twice")
    if len(seeds) > MAX_SEEDS or max(seeds) >= 2**64:
        raise GroklabError(f"--seeds {text!r}: at most {MAX_SEEDS} seeds, each below 2^64")
    return seeds


# the training settings that may differ between the models of one batch (besides the seeds)
OPTIMIZER_FIELDS = ("lr", "beta1", "beta2", "warmup", "grokfast", "grokfast_alpha",
                    "grokfast_lamb", "grokfast_window")
PER_MODEL_FIELDS = OPTIMIZER_FIELDS + ("weight_decay",)


def optimizer_key(train: TrainConfig) -> tuple:
    """The settings a span's models share (everything per model but the weight decay)."""
    return tuple(getattr(train, f) for f in OPTIMIZER_FIELDS)


def batch_key(config: RunConfig) -> RunConfig:
    """The config with its per-model settings (seed, data seed, weight decay, optimizer settings)
    blanked: runs with equal keys train together."""
    blank = TrainConfig()
    return replace(config, seed=0, preset="", task=replace(config.task, data_seed=0),
                   train=replace(config.train, **{f: getattr(blank, f) for f in PER_MODEL_FIELDS}))


def check_batchable(configs: list[RunConfig]) -> None:
    """One line unless every config has the first one's batch_key."""
    if not configs:
        raise GroklabError("no runs to train")
    first = batch_key(configs[0])
    for cfg in configs[1:]:
        same = batch_key(cfg)
        if same != first:
            fields = [s for s in ("task", "model", "train") if getattr(same, s) != getattr(first, s)]
            raise GroklabError(f"runs trained together may differ only in their seeds and "
                               f"optimizer settings ({', '.join(PER_MODEL_FIELDS)}); these differ "
                               f"in {', '.join(fields)} (mixed shapes in one batch)")


def by_span(configs: list[RunConfig]) -> list[int]:
    """Indices of `configs` ordered so that models sharing optimizer settings are adjacent (in the
    order each setting first appears; stable within a span)."""
    first: dict[tuple, int] = {}
    for i, c in enumerate(configs):
        first.setdefault(optimizer_key(c.train), i)
    return sorted(range(len(configs)), key=lambda i: first[optimizer_key(configs[i].train)])


@dataclass
class Span:
    """Rows start:stop of the batch, which share `cfg`'s optimizer settings: their parameters as
    [stop - start, ...] leaves, their AdamW parameter group and their Grokfast filter."""

    start: int
    stop: int
    cfg: TrainConfig
    leaves: dict[str, torch.Tensor]
    decays: list[float]
    grokfast: Grokfast | None = None
    factors: tuple[float, list[torch.Tensor]] | None = None  # (lr, per-parameter decay factors)


@dataclass
class Member:
    """One model of the batch: its config, run directory and callbacks. `index` is its row in the
    trainer's stacked tensors (it changes when finished models are dropped); `slot` is fixed."""

    index: int
    slot: int
    config: RunConfig
    store: RunStore
    callbacks: list
    done: bool = False
    stopped: str = "epochs"
    row: dict | None = None
    closed_at: float | None = None  # perf_counter when its run was closed


class BatchTrainer:
    """K stacked models, one optimizer, the single trainer's loop semantics per model."""

    def __init__(self, models: list[HookedModel], configs: list[RunConfig], forward: str):
        """`forward`: "loop" or "vmap" (batch_forward resolves "auto")."""
        self.cfg = configs[0].train  # the shared settings: epochs, loss dtype, schedules
        self.k, self.forward = len(models), forward
        self.names = [n for n, _ in models[0].named_parameters()]
        params, buffers = stack_module_state([TrainingForward(m) for m in models])
        stacked = {n: params[f"model.{n}"] for n in self.names}  # [K, ...] leaves
        self.buffers = buffers
        self.base = TrainingForward(build_model(configs[0].model, configs[0].task.p, 0)).to("meta")
        self.spans = self._spans(stacked, configs)
        # AdamW's decoupled decay p <- p·(1 − lr·wd) per model is applied here (the optimizer's is
        # 0): the same float32 product AdamW forms from its scalar, so each model stays its run
        self.optimizer = torch.optim.AdamW(
            [param_group(list(sp.leaves.values()), sp.cfg) for sp in self.spans],
            lr=self.cfg.lr, weight_decay=0.0, foreach=True)
        for sp in self.spans:
            sp.grokfast = Grokfast(list(sp.leaves.values()), sp.cfg)

    def _spans(self, stacked: dict[str, torch.Tensor], configs: list[RunConfig]) -> list[Span]:
        cuts = [i for i in range(1, self.k)
                if optimizer_key(configs[i].train) != optimizer_key(configs[i - 1].train)]
        bounds = list(zip([0] + cuts, cuts + [self.k]))
        spans = []
        for a, b in bounds:
            leaves = stacked if len(bounds) == 1 else {
                n: t[a:b].detach().clone().requires_grad_(True) for n, t in stacked.items()}
            spans.append(Span(a, b, configs[a].train, leaves,
                              [c.train.weight_decay for c in configs[a:b]]))
        return spans

    def _at(self, k: int) -> tuple[Span, int]:
        """The span holding model k, and its row there."""
        for sp in self.spans:
            if sp.start <= k < sp.stop:
                return sp, k - sp.start
        raise IndexError(k)

    def stacked(self) -> dict[str, torch.Tensor]:
        """Every model's parameters as [K, ...] tensors (one span: its leaves themselves)."""
        if len(self.spans) == 1:
            return self.spans[0].leaves
        return {n: torch.cat([sp.leaves[n] for sp in self.spans]) for n in self.names}

    def logits(self, x: torch.Tensor) -> torch.Tensor:  # [K, n, 2] -> [K, n, p]
        if self.forward == "loop":
            return torch.stack([functional_call(self.base, (p, b), (xs,))
                                for p, b, xs in zip(self._views(), self._buffer_views(), x)])
        params = {f"model.{n}": p for n, p in self.stacked().items()}
        return vmap(lambda p, b, xs: functional_call(self.base, (p, b), (xs,)))(
            params, self.buffers, x)

    def _views(self) -> list[dict[str, torch.Tensor]]:
        """Each model's parameters as views of its span's leaves (unbind: its backward stacks the
        K gradients, one copy)."""
        out = []
        for sp in self.spans:
            rows = {f"model.{n}": p.unbind(0) for n, p in sp.leaves.items()}
            out += [{n: r[i] for n, r in rows.items()} for i in range(sp.stop - sp.start)]
        return out

    def _buffer_views(self) -> list[dict[str, torch.Tensor]]:
        return [{n: b[i] for n, b in self.buffers.items()} for i in range(self.k)]

    def weights(self, k: int) -> dict[str, torch.Tensor]:
        sp, i = self._at(k)
        return {n: p[i].detach().clone() for n, p in sp.leaves.items()}

    def state_tensors(self, k: int) -> dict[str, torch.Tensor]:
        """Model k's resume state, in the single trainer's format."""
        sp, i = self._at(k)
        out = {f"model.{n}": p[i].detach() for n, p in sp.leaves.items()}
        for n, p in sp.leaves.items():
            for key, value in self.optimizer.state.get(p, {}).items():
                out[f"adam.{key}.{n}"] = value.detach() if key == "step" else value[i].detach()
        out.update({f"grokfast.{key}": v[i] for key, v in sp.grokfast.state_tensors().items()})
        return out

    def load_states(self, states: list[dict[str, torch.Tensor]]) -> None:
        """Stack K single-trainer states (all at one epoch) into the batch."""
        for sp in self.spans:
            own = states[sp.start:sp.stop]
            with torch.no_grad():
                for n, p in sp.leaves.items():
                    p.copy_(torch.stack([s[f"model.{n}"] for s in own]))
            for n, p in sp.leaves.items():
                if all(f"adam.exp_avg.{n}" in s for s in own):
                    self.optimizer.state[p] = {
                        k: (own[0][f"adam.{k}.{n}"].clone() if k == "step"
                            else torch.stack([s[f"adam.{k}.{n}"] for s in own]))
                        for k in ADAM_KEYS}
            keys = [k[len("grokfast."):] for k in own[0] if k.startswith("grokfast.")]
            sp.grokfast.load_state_tensors(
                {k: torch.stack([s[f"grokfast.{k}"] for s in own]) for k in keys})

    def step(self, epoch: int, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)  # zeroing K-stacked grads in place is slow
        loss.backward()
        for sp, group in zip(self.spans, self.optimizer.param_groups):
            sp.grokfast.apply()
            group["lr"] = lr = lr_at(epoch, sp.cfg)
            if any(sp.decays):
                with torch.no_grad():
                    for p, f in zip(sp.leaves.values(), _decay_factors(sp, lr)):
                        p.mul_(f)
        self.optimizer.step()

    def row(self, k: int, epoch: int, train_logits: torch.Tensor, test_logits: torch.Tensor,
            batch) -> dict:
        """Model k's metric row, as the single trainer writes it."""
        sp, i = self._at(k)
        with torch.no_grad():
            sq = {n: p[i].detach().pow(2).sum().item() for n, p in sp.leaves.items()}
            return {
                "epoch": epoch,
                "loss/train": cross_entropy(train_logits, batch.train_y[k], self.cfg.loss_dtype).item(),
                "loss/test": cross_entropy(test_logits, batch.test_y[k], self.cfg.loss_dtype).item(),
                "acc/train": accuracy(train_logits, batch.train_y[k]),
                "acc/test": accuracy(test_logits, batch.test_y[k]),
                "lr": lr_at(epoch, sp.cfg),
                "norm/total": sum(sq.values()),
                **{f"norm/{n}": v for n, v in sq.items()},
            }


def _decay_factors(sp: Span, lr: float) -> list[torch.Tensor]:
    """1 − lr·wd per model of the span, shaped to broadcast over each parameter (rebuilt only when
    the learning rate changes, i.e. during warm-up)."""
    if sp.factors is None or sp.factors[0] != lr:
        params = list(sp.leaves.values())
        factor = torch.tensor([1 - lr * wd for wd in sp.decays], dtype=params[0].dtype,
                              device=params[0].device)
        sp.factors = (lr, [factor.view(-1, *[1] * (p.dim() - 1)) for p in params])
    return sp.factors[1]


def _evaluate(trainer: BatchTrainer, members: list[Member], epoch: int, logits, batch,
              final: bool) -> None:
    """Evaluate every live member that wants it; a member asking to stop is closed."""
    due = [m for m in members
           if not m.done and (final or any(cb.wants(epoch) for cb in m.callbacks))]
    if not due:
        return
    with torch.no_grad():
        test_logits = trainer.logits(batch.test_x)  # once for every model: [K, n_test, p]
    for m in due:
        m.row = trainer.row(m.index, epoch, logits[m.index].detach(), test_logits[m.index], batch)
        stop = [cb.on_eval(epoch, m.row, lambda k=m.index: trainer.weights(k))
                for cb in m.callbacks]
        if final or any(stop):
            m.stopped = "epochs" if final else "early_stop"
            _close(trainer, m, epoch)


def _close(trainer: BatchTrainer, m: Member, epoch: int) -> None:
    for cb in m.callbacks:
        cb.on_end(epoch, m.row or {}, lambda k=m.index: trainer.weights(k), m.stopped)
    m.done, m.closed_at = True, time.perf_counter()


def fit(ctx: dict, members: list[Member], batch: Batch, start: int) -> int:
    """`batch` holds every model's pairs stacked: train_x [K, n_train, 2], train_y [K, n_train];
    ctx["trainer"] the BatchTrainer (replaced by a smaller one when models finish)."""
    trainer = ctx["trainer"]
    cfg, epoch = trainer.cfg, start
    while not all(m.done for m in members):
        logits = trainer.logits(batch.train_x)
        final = epoch >= cfg.epochs
        _evaluate(trainer, members, epoch, logits, batch, final)
        if final or all(m.done for m in members):
            break
        live = [m for m in members if not m.done]
        if len(live) < trainer.k:  # finished models leave the batch
            trainer, batch = _compact(ctx, live, batch)
            logits = trainer.logits(batch.train_x)
        for m in live:
            for cb in m.callbacks:
                cb.on_epoch(epoch, lambda k=m.index: trainer.weights(k))
        losses = [cross_entropy(logits[m.index], batch.train_y[m.index], cfg.loss_dtype)
                  for m in live]
        trainer.step(epoch, torch.stack(losses).sum())
        epoch += 1
    return epoch


def _compact(ctx: dict, live: list[Member], batch: Batch) -> tuple["BatchTrainer", Batch]:
    """A trainer of the live models alone, from their states in the single trainer's format (the
    resume path: each model goes on exactly as before), and their rows of the batch."""
    old = ctx["trainer"]
    states = [old.state_tensors(m.index) for m in live]
    device = batch.train_x.device
    rows = torch.tensor([m.index for m in live], device=device)
    models = [build_model(m.config.model, m.config.task.p, m.config.seed).to(device) for m in live]
    trainer = BatchTrainer(models, [m.config for m in live], old.forward)
    trainer.load_states(states)
    for i, m in enumerate(live):
        m.index = i
    ctx["trainer"] = trainer
    return trainer, Batch(*(t.index_select(0, rows) for t in
                            (batch.train_x, batch.train_y, batch.test_x, batch.test_y)))


def estimate_bytes(config: RunConfig, k: int) -> int:
    """A generous estimate of what K models of `config` need while training: parameters, their
    gradients, Adam's two moments and a Grokfast buffer (5 copies), and the activations of a full
    batch (the logits and the MLP's hidden layer, kept for backward, 4 copies)."""
    model = build_model(config.model, config.task.p, 0)
    n_params = sum(p.numel() for p in model.parameters())
    n_pairs = config.task.n_pairs
    acts = n_pairs * (config.task.p + config.model.d_mlp + 3 * config.model.d_model)
    return int(k * 4 * (5 * n_params + 4 * acts))


def available_bytes(device: torch.device) -> int | None:
    """Free memory on the device (CUDA: the driver's free count; CPU: MemAvailable)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# the share of the free memory a batch may plan to use: a CPU is shared with other processes, a
# GPU lent to this process is not (its free count already leaves out what others hold)
MEMORY_SHARE = {"cpu": 0.5, "cuda": 0.8}


def memory_max_models(config: RunConfig, device: torch.device) -> int | None:
    """As many models of `config` as the device's share of free memory holds, by estimate_bytes
    (None: the free memory is unknown; 0: not even one)."""
    have = available_bytes(device)
    if have is None:
        return None
    return int(have * MEMORY_SHARE.get(device.type, 0.5) // estimate_bytes(config, 1))


def _size(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def batch_capacity(configs: list[RunConfig], device: torch.device,
                   max_models: int | None) -> int:
    """Models per batch: `max_models` when given and it fits, else as many as memory holds (all of
    them when the free memory is unknown); one line with the estimate when it does not fit."""
    k = min(max_models or len(configs), len(configs))
    fits = memory_max_models(configs[0], device)
    if fits is not None and fits < (k if max_models else 1):
        k = k if max_models else 1
        free = available_bytes(device) * MEMORY_SHARE.get(device.type, 0.5)
        what = "one model needs" if k == 1 else f"{k} models need"
        fix = f"train fewer at once (--max-models {fits})" if fits else "use a smaller model"
        raise GroklabError(f"{what} about {_size(estimate_bytes(configs[0], k))}, a batch may "
                           f"plan on {_size(free)} of the free memory on {device.type}: {fix}")
    return k if max_models or fits is None else max(1, min(k, fits))


def _member(i: int, config: RunConfig, store: RunStore, ctx: dict, clock: dict, quiet: bool,
            start: int) -> Member:
    def save_state(epoch: int) -> None:
        store.save_state(epoch, ctx["trainer"].state_tensors(member.index), clock["prior"][i]
                         + time.perf_counter() - clock["t0"])

    callbacks = [MetricsLog(store, config.train.eval_every),
                 Checkpointer(store, config.train, save_state), EarlyStop(config.train)]
    if i == 0:
        callbacks.append(Progress(config.train.epochs, start, quiet))
    member = Member(i, i, config, store, callbacks)
    return member


def _resume_epoch(store: RunStore, config: RunConfig, overwrite: bool) -> int | None:
    """Make the run directory hold `config`; the epoch its resume state is at (None: none)."""
    if not store.prepare(config, overwrite=overwrite):
        if store.metrics_path.exists():
            store.clear()
        return None
    return store.load_state()[0]


def _load(stores: list[RunStore], start: int | None) -> tuple[int, list, list[float], list]:
    """(start epoch, states, prior wall, logged rows) of runs that all resume at `start`."""
    if start is None:
        return 0, [], [0.0] * len(stores), [[] for _ in stores]
    loaded = [s.load_state() for s in stores]
    rows = [s.keep_metrics_before(start) for s in stores]
    for s in stores:
        s.drop_checkpoints_after(start)
    return start, [t for _, t, _ in loaded], [w for _, _, w in loaded], rows


def train_many(configs: list[RunConfig], outs: list[str | Path], *, threads: int | None = None,
               device: str = "cpu", quiet: bool = False, overwrite: bool = False,
               max_models: int | None = None, forward: str = "auto") -> list[TrainResult]:
    """Train K configs that differ only in their seeds and optimizer settings, in one process, into
    K run directories, in batches of at most `max_models` (default: as many as the free memory
    holds, batch_capacity), each batch through `forward` (FORWARDS; auto: by device); runs
    already finished (summary.json) are left as they are. The results carry no model (load one
    with sources.load_run_model)."""
    import contextlib

    check_batchable(configs)
    set_threads(threads)
    dev = resolve_device(device)
    forward = batch_forward(forward, dev)
    if dev.type == "cuda":  # TF32 matmuls would make a batched model differ from its single run
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    stores = [RunStore(o) for o in outs]
    todo = [i for i, s in enumerate(stores) if overwrite or not s.summary_path.is_file()
            or not s.is_run()]
    cap = batch_capacity([configs[i] for i in todo] or configs[:1], dev, max_models)
    with contextlib.ExitStack() as stack:
        for s in stores:
            stack.enter_context(s.writer())
        groups: dict[int | None, list[int]] = {}
        for i in todo:  # runs killed at different epochs resume as separate batches
            groups.setdefault(_resume_epoch(stores[i], configs[i], overwrite), []).append(i)
        for start, members in groups.items():
            members = [members[j] for j in by_span([configs[i] for i in members])]
            for a in range(0, len(members), cap):
                _train(configs, stores, members[a:a + cap], start, dev, quiet, forward)
    return [TrainResult(s.path, c, s.read_summary() or {}, None, None)
            for s, c in zip(stores, configs)]


def _train(configs, stores, todo: list[int], start: int | None, dev, quiet: bool,
           forward: str) -> None:
    """Train the runs `todo`, all starting at epoch `start` (None: from scratch), as one batch
    (models sharing optimizer settings adjacent)."""
    todo = [todo[j] for j in by_span([configs[i] for i in todo])]
    cfgs, sts = [configs[i] for i in todo], [stores[i] for i in todo]
    start, states, prior, rows = _load(sts, start)
    models = [build_model(c.model, c.task.p, c.seed).to(dev) for c in cfgs]
    trainer = BatchTrainer(models, cfgs, forward)
    if states:
        trainer.load_states([{k: v.to(dev) for k, v in s.items()} for s in states])
    clock = {"t0": time.perf_counter(), "prior": prior}
    ctx = {"trainer": trainer}
    members = [_member(i, c, s, ctx, clock, quiet, start)
               for i, (c, s) in enumerate(zip(cfgs, sts))]
    for m, logged in zip(members, rows):
        for row in logged:
            for cb in m.callbacks:
                cb.on_eval(row["epoch"], row, lambda k=m.index: trainer.weights(k), replay=True)
    batches = [to_batch(make_dataset(c.task), dev) for c in cfgs]
    stacked = Batch(*(torch.stack([getattr(b, f) for b in batches])
                      for f in ("train_x", "train_y", "test_x", "test_y")))
    fit(ctx, members, stacked, start)
    for m in members:
        wall = prior[m.slot] + (m.closed_at or time.perf_counter()) - clock["t0"]
        m.store.write_summary(summarize(m.store.read_metrics(), m.stopped, wall))
