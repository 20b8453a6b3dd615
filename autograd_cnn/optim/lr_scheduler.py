"""Learning-rate schedulers with PyTorch's semantics (and its recursive update formulas, so the
learning rates match ``torch.optim.lr_scheduler`` float for float).

Call ``scheduler.step()`` once per epoch, after the optimizer's steps.  Constructing a scheduler
records each group's ``initial_lr`` and performs the initial step (epoch 0).  ``ReduceLROnPlateau``
instead takes the monitored value: ``scheduler.step(val_loss)``.  ``step(epoch)`` (deprecated in
PyTorch, with its warning) jumps to ``epoch`` through the scheduler's closed form where it has
one (``_get_closed_form_lr``), as PyTorch does; ``SequentialLR`` restarts a scheduler that way.

All schedulers have ``get_last_lr()``, ``state_dict()`` and ``load_state_dict()`` (plain numbers
and lists, saveable by ``autograd_cnn.save``).
"""
import bisect
import math
import numbers
import types
import warnings

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "ReduceLROnPlateau", "LambdaLR", "OneCycleLR", "ConstantLR", "LinearLR",
           "PolynomialLR", "SequentialLR", "CosineAnnealingWarmRestarts"]

_EPOCH_DEPRECATION = ("The epoch parameter in `scheduler.step()` was not necessary and is being "
                      "deprecated where possible. Please use `scheduler.step()` to step the "
                      "scheduler. During the deprecation, if epoch is different from None, the "
                      "closed form is used instead of the new chainable form, where available.")


def _check_optimizer(opt, cls):
    if not hasattr(opt, "param_groups"):
        raise TypeError(f"{cls}: optimizer must be an Optimizer, got {type(opt).__name__}")


class LRScheduler:
    """Base class: subclasses implement ``get_lr()`` (the new lr of each group, computed from
    ``last_epoch`` and the groups' current lrs)."""

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer, type(self).__name__)
        self.optimizer = optimizer
        if last_epoch == -1:
            for g in optimizer.param_groups:
                g.setdefault("initial_lr", g["lr"])
        else:
            for i, g in enumerate(optimizer.param_groups):
                if "initial_lr" not in g:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming an optimizer")
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """The step made at construction (and by ``SequentialLR`` when it starts the first
        scheduler): ``_is_initial`` lets ``get_lr`` tell it from later steps, as in PyTorch."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        raise NotImplementedError

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per group."""
        return list(self._last_lr)

    def step(self, epoch=None):
        """Advance one epoch; ``epoch`` (deprecated, as in PyTorch) sets the epoch instead and
        uses the closed form where the scheduler has one."""
        self._step_count += 1
        if epoch is not None:
            warnings.warn(_EPOCH_DEPRECATION, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for g, lr in zip(self.optimizer.param_groups, values):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def _current(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        """Everything but the optimizer."""
        return {k: (list(v) if isinstance(v, (list, tuple)) else v)
                for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state):
        self.__dict__.update({k: v for k, v in state.items() if k != "optimizer"})


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each epoch listed in ``milestones`` (a repeated milestone
    multiplies once per repetition)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = [int(m) for m in milestones]
        self.milestones = {}
        for m in sorted(milestones):
            self.milestones[m] = self.milestones.get(m, 0) + 1
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        count = self.milestones.get(self.last_epoch, 0)
        if count == 0:
            return self._current()
        return [lr * self.gamma ** count for lr in self._current()]

    def _get_closed_form_lr(self):
        passed = sum(c for m, c in self.milestones.items() if m <= self.last_epoch)
        return [b * self.gamma ** passed for b in self.base_lrs]

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.milestones = {int(k): int(v) for k, v in self.milestones.items()}


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base lr to ``eta_min`` over ``T_max`` epochs (then back up, as
    PyTorch's recursive formula continues the cosine)::

        lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max!r}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, e = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return self._current()
        if self._step_count == 1 and t > 0:
            return [e + (b - e) * (1 + math.cos(t * math.pi / T)) / 2 for b in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [g["lr"] + (b - e) * (1 - math.cos(math.pi / T)) / 2
                    for b, g in zip(self.base_lrs, self.optimizer.param_groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (g["lr"] - e) + e for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        e = self.eta_min
        return [e + (b - e) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for b in self.base_lrs]


class ReduceLROnPlateau:
    """Multiply the lr by ``factor`` when a monitored value (``step(value)``) has not improved for
    more than ``patience`` epochs.  Improvement means beating the best value by ``threshold``
    (relative, ``threshold_mode='rel'``, or absolute, ``'abs'``) in direction ``mode``
    ('min' or 'max').  After a reduction, ``cooldown`` epochs pass before counting again; lrs never
    go below ``min_lr`` and changes smaller than ``eps`` are skipped.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        _check_optimizer(optimizer, "ReduceLROnPlateau")
        if not factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', "
                             f"got {threshold_mode!r}")
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"ReduceLROnPlateau: expected {n} min_lrs, got {len(min_lr)}")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n
        self.factor, self.patience, self.cooldown, self.eps = factor, patience, cooldown, eps
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best = self.mode_worse
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def _is_better(self, a, best):
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" \
                else a < best - self.threshold
        return a > best * (self.threshold + 1.0) if self.threshold_mode == "rel" \
            else a > best + self.threshold

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def step(self, metrics):
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for i, g in enumerate(self.optimizer.param_groups):
                old = float(g["lr"])
                new = max(old * self.factor, self.min_lrs[i])
                if old - new > self.eps:
                    g["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self):
        return list(self._last_lr)

    def state_dict(self):
        return {k: (list(v) if isinstance(v, (list, tuple)) else v)
                for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state):
        self.__dict__.update({k: v for k, v in state.items() if k != "optimizer"})


class LambdaLR(LRScheduler):
    """lr = base_lr * ``lr_lambda(epoch)``: one function for every group, or a list of one per
    group. ``state_dict()`` keeps the state of callable objects (their ``__dict__``) but not
    plain functions or lambdas, as PyTorch does."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(optimizer, "LambdaLR")
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"LambdaLR: expected {groups} lr_lambdas (one per parameter "
                                 f"group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(f).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self):
        state = {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}
        state["lr_lambdas"] = [None if isinstance(f, types.FunctionType) else dict(f.__dict__)
                               for f in self.lr_lambdas]
        return state

    def load_state_dict(self, state):
        state = dict(state)
        saved = state.pop("lr_lambdas", None) or []
        super().load_state_dict(state)
        for f, d in zip(self.lr_lambdas, saved):
            if d is not None:
                f.__dict__.update(d)


def _per_group(name, value, optimizer, cls):
    """One value per parameter group: a list of that length, or one number for all."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"{cls}: expected {groups} values for {name} (one per parameter "
                             f"group), got {len(value)}")
        return list(value)
    return [value] * groups


def _anneal_cos(start, end, pct):
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _anneal_linear(start, end, pct):
    return (end - start) * pct + start


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), stepped once per **batch**: the lr rises from
    ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of ``total_steps`` (or
    ``epochs * steps_per_epoch``), then falls to ``initial_lr / final_div_factor``; with
    ``three_phase`` it first falls back to the initial lr, symmetrically, and then to the
    minimum. Each phase anneals by ``anneal_strategy`` 'cos' or 'linear'. With
    ``cycle_momentum`` the momentum (SGD's ``momentum`` or Adam's first beta) moves inversely
    between ``max_momentum`` and ``base_momentum``. Stepping more than ``total_steps`` times is
    an error, as in PyTorch."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        cls = "OneCycleLR"
        _check_optimizer(optimizer, cls)

        def positive_int(name, v):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{cls}: expected a positive int for {name}, got {v!r}")
            return v

        if total_steps is not None:
            self.total_steps = positive_int("total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (positive_int("epochs", epochs)
                                * positive_int("steps_per_epoch", steps_per_epoch))
        else:
            raise ValueError(f"{cls}: you must define either total_steps OR (epochs AND "
                             "steps_per_epoch)")
        if isinstance(pct_start, bool) or not isinstance(pct_start, (int, float)) \
                or not 0 <= pct_start <= 1:
            raise ValueError(f"{cls}: expected a float between 0 and 1 for pct_start, got "
                             f"{pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{cls}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        total = self.total_steps
        if three_phase:
            self._phases = [
                (float(pct_start * total) - 1, "initial_lr", "max_lr", "max_momentum",
                 "base_momentum"),
                (float(2 * pct_start * total) - 2, "max_lr", "initial_lr", "base_momentum",
                 "max_momentum"),
                (total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [
                (float(pct_start * total) - 1, "initial_lr", "max_lr", "max_momentum",
                 "base_momentum"),
                (total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        max_lrs = _per_group("max_lr", max_lr, optimizer, cls)
        if last_epoch == -1:
            for lr, g in zip(max_lrs, optimizer.param_groups):
                g["initial_lr"] = lr / div_factor
                g["max_lr"] = lr
                g["min_lr"] = g["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            defaults = getattr(optimizer, "defaults", {})
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError(f"{cls}: optimizer must support momentum or beta1 with "
                                 "cycle_momentum=True")
            self.use_beta1 = "betas" in defaults
            maxs = _per_group("max_momentum", max_momentum, optimizer, cls)
            bases = _per_group("base_momentum", base_momentum, optimizer, cls)
            if last_epoch == -1:
                for m, b, g in zip(maxs, bases, optimizer.param_groups):
                    self._set_momentum(g, m)
                    g["max_momentum"], g["base_momentum"] = m, b
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; the specified number of "
                             f"total steps is {self.total_steps}")
        anneal = _anneal_cos if self.anneal_strategy == "cos" else _anneal_linear
        lrs = []
        for g in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(anneal(g[lr0], g[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(g, anneal(g[m0], g[m1], pct))
                    break
                start = end
        return lrs


# --------------------------------------------------------- warm-up, polynomial, restarts, chains
def _check_factor(cls, name, value, lo, hi, lo_open=False):
    """A number in [lo, hi] ((lo, hi] with ``lo_open``), else a ValueError naming it."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and (lo < value if lo_open else lo <= value) and value <= hi)
    if not ok:
        interval = f"({lo}, {hi}]" if lo_open else f"[{lo}, {hi}]"
        raise ValueError(f"{cls}: {name} must be a number in {interval}, got {value!r}")
    return value


def _check_iters(cls, value, name="total_iters"):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{cls}: {name} must be an int >= 0, got {value!r}")
    return int(value)


class ConstantLR(LRScheduler):
    """Multiply the lr by ``factor`` for the first ``total_iters`` epochs, then give back the
    base lr (a constant warm-up)::

        lr_t = base_lr * factor   (t < total_iters),   base_lr   (t >= total_iters)
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        self.factor = _check_factor("ConstantLR", "factor", factor, 0.0, 1.0)
        self.total_iters = _check_iters("ConstantLR", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current()]
        if self.last_epoch != self.total_iters:
            return self._current()
        return [lr * (1.0 / self.factor) for lr in self._current()]

    def _get_closed_form_lr(self):
        f = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [b * f for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the lr linearly from ``start_factor`` to ``end_factor`` times the base lr over
    ``total_iters`` epochs, then keep it (a linear warm-up, or decay)::

        lr_t = base_lr * (start + (end - start) * min(t, total_iters) / total_iters)

    computed step by step with PyTorch's recursive ratio, so the values match float for float.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        cls = "LinearLR"
        self.start_factor = _check_factor(cls, "start_factor", start_factor, 0.0, 1.0, True)
        self.end_factor = _check_factor(cls, "end_factor", end_factor, 0.0, 1.0)
        self.total_iters = _check_iters(cls, total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, s, e = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return [lr * s for lr in self._current()]
        if self._is_initial or t > self.total_iters:
            return self._current()
        ratio = 1.0 + (e - s) / (self.total_iters * s + (t - 1) * (e - s))
        return [lr * ratio for lr in self._current()]

    def _get_closed_form_lr(self):
        s, e, n = self.start_factor, self.end_factor, self.total_iters
        if n == 0:
            return [b * e for b in self.base_lrs]
        return [b * (s + (e - s) * min(n, self.last_epoch) / n) for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the lr to 0 over ``total_iters`` epochs by a polynomial of degree ``power``, then
    keep it::

        lr_t = base_lr * (1 - min(t, total_iters) / total_iters) ** power
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = _check_iters("PolynomialLR", total_iters)
        if isinstance(power, bool) or not isinstance(power, numbers.Real):
            raise TypeError(f"PolynomialLR: power must be a number, got {power!r}")
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, n = self.last_epoch, self.total_iters
        if self._is_initial or t > n:
            return self._current()
        decay = ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power
        return [lr * decay for lr in self._current()]

    def _get_closed_form_lr(self):
        n = self.total_iters
        frac = min(n, self.last_epoch) / n if n else 1.0
        return [b * (1.0 - frac) ** self.power for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter, 2017)::

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    where ``T_cur`` counts the epochs since the last restart and the i-th run lasts
    ``T_i = T_0 * T_mult**i`` epochs. ``step()`` may be called with a (fractional) epoch, e.g.
    ``scheduler.step(epoch + i / iters)`` inside the batch loop, as in PyTorch."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        cls = "CosineAnnealingWarmRestarts"
        if isinstance(T_0, bool) or not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"{cls}: T_0 must be a positive int, got {T_0!r}")
        if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"{cls}: T_mult must be an int >= 1, got {T_mult!r}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, numbers.Real):
            raise ValueError(f"{cls}: eta_min must be a float or an int, got {eta_min!r}")
        self.T_0 = self.T_i = T_0
        self.T_mult, self.eta_min = T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e = self.eta_min
        return [e + (b - e) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for b in self.base_lrs]

    def step(self, epoch=None):
        """Advance one epoch, or (``epoch`` given, a number >= 0) go to that epoch, restarts
        included."""
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        else:
            if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real) or epoch < 0:
                raise ValueError("CosineAnnealingWarmRestarts.step: epoch must be a number >= 0, "
                                 f"got {epoch!r}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:  # the run that holds ``epoch``: T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after the other: ``schedulers[i]`` from epoch ``milestones[i-1]``
    on (each restarted at its epoch 0 when its turn comes), e.g. a ``LinearLR`` warm-up for 5
    epochs, then ``CosineAnnealingLR``::

        SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, 95)], [5])

    Building the schedulers moved the lr; building this puts it back to ``initial_lr`` and
    starts the first one, as PyTorch does. ``state_dict()`` holds each scheduler's state."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        cls = "SequentialLR"
        _check_optimizer(optimizer, cls)
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError(f"{cls}: schedulers must hold at least one scheduler, got none")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"{cls}: schedulers[{i}] is a ReduceLROnPlateau, which needs a "
                                 "metric at each step and cannot be chained")
            if not isinstance(s, LRScheduler):
                raise TypeError(f"{cls}: schedulers[{i}] must be an LRScheduler, got "
                                f"{type(s).__name__}")
            if s.optimizer is not optimizer:
                raise ValueError(f"{cls}: schedulers[{i}] ({type(s).__name__}) belongs to "
                                 "another optimizer; all must belong to this one")
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{cls}: milestones must hold one fewer entries than schedulers "
                             f"({len(schedulers) - 1}), got {len(milestones)}")
        for m in milestones:
            if isinstance(m, bool) or not isinstance(m, numbers.Integral):
                raise TypeError(f"{cls}: milestones must be ints, got {m!r}")
        self._schedulers = schedulers
        self._milestones = [int(m) for m in milestones]
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for g in optimizer.param_groups:
            g["lr"] = g["initial_lr"]
        _undo_initial_steps(self)
        first = schedulers[bisect.bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        """Advance one epoch: the scheduler whose turn it is steps (or starts)."""
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler._update_lr(0)  # its turn starts: epoch 0 of its closed form
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: v for k, v in super().state_dict().items() if k != "_schedulers"}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state):
        state = dict(state)
        saved = state.pop("_schedulers")
        super().load_state_dict(state)
        for s, sd in zip(self._schedulers, saved):
            s.load_state_dict(sd)


def _undo_initial_steps(sequential):
    """Take back the initial step of every scheduler a ``SequentialLR`` chains (those inside a
    nested ``SequentialLR`` too, as PyTorch does)."""
    for s in sequential._schedulers:
        if isinstance(s, SequentialLR):
            _undo_initial_steps(s)
        else:
            s.last_epoch -= 1
