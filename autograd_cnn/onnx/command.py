"""``python -m autograd_cnn export --checkpoint PATH --onnx OUT.onnx``: a model trained by the
``train`` command, as an ONNX file with a dynamic batch axis (input ``input``, output
``logits``).

The file may be a ``--save`` file (``{"model": state_dict, "model_name": name}``) or a training
checkpoint written by ``--checkpoint`` (which holds the state dict but not the model's name). The
model is rebuilt with ``cli.build_model``: its name from the file, or ``--model``, or else the one
of the training command's models whose state-dict keys and shapes the weights fit; the number of
classes from the last layer's weight; the input shape from ``--input-shape`` or the model's usual
one (``mlp``: the first layer's width).
"""
import numpy as np

__all__ = ["add_parser", "run_export"]

_SHAPES = {"lenet5": [(1, 28, 28), (1, 32, 32)], "smallcnn": [(1, 8, 8)], "conv1d": [(1, 40)]}


def add_parser(sub):
    e = sub.add_parser("export", help="write a trained model (--save or --checkpoint file) as "
                       "ONNX (needs the onnx package)")
    e.add_argument("--checkpoint", metavar="PATH", required=True,
                   help="a file written by train --save or --checkpoint")
    e.add_argument("--onnx", metavar="OUT", required=True, help="the ONNX file to write")
    e.add_argument("--model", help="the model's name, when the file does not say it "
                   "(default: the training command's model that the weights fit)")
    e.add_argument("--input-shape", help="one sample's shape, comma-separated, e.g. 1,28,28 "
                   "(default: the model's usual input)")
    e.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    return e


def _classes(state):
    weights = [v for k, v in state.items() if k.endswith("weight") and np.ndim(v) == 2]
    return int(np.shape(weights[-1])[0]) if weights else 10


def _candidates(name, shape, state):
    if shape is not None:
        return [shape]
    if name == "mlp":
        first = [v for k, v in state.items() if k.endswith("weight") and np.ndim(v) == 2]
        return [(int(np.shape(first[0])[1]),)] if first else []
    return _SHAPES.get(name, [])


def _build(name, shape, state):
    """The model ``name`` for ``shape`` loaded with ``state``, or None when they do not fit."""
    from ..cli import build_model
    try:
        model = build_model(name, shape, _classes(state))
        model.load_state_dict(state)
    except (ValueError, KeyError, TypeError):
        return None
    return model


def run_export(args):
    from .. import serialization
    from ..cli import MODELS, _UsageError
    from .exporter import export

    try:
        saved = serialization.load(args.checkpoint)
    except (OSError, ValueError) as exc:
        raise _UsageError(f"--checkpoint {args.checkpoint!r}: {str(exc).splitlines()[0]}") \
            from None
    state = saved.get("model") if isinstance(saved, dict) else None
    if not isinstance(state, dict):
        raise _UsageError(f"--checkpoint {args.checkpoint!r} holds no model state dict (write "
                          "one with train --save or --checkpoint)")
    shape = None
    if args.input_shape is not None:
        try:
            shape = tuple(int(v) for v in args.input_shape.split(","))
        except ValueError:
            raise _UsageError(f"--input-shape must be comma-separated integers, got "
                              f"{args.input_shape!r}") from None
    name = args.model or saved.get("model_name")
    if name is not None and name not in MODELS:
        raise _UsageError(f"--model {name!r} is not one of the training command's models "
                          f"({', '.join(sorted(MODELS))})")
    found = []
    for candidate in ([name] if name else sorted(MODELS)):
        for s in _candidates(candidate, shape, state):
            model = _build(candidate, s, state)
            if model is not None:
                found.append((candidate, s, model))
                break
    if not found:
        which = f"model {name!r}" if name else "any of the training command's models"
        raise _UsageError(f"the weights in {args.checkpoint!r} do not fit {which}"
                          + ("" if shape else " at its usual input shape (give --input-shape)"))
    if len(found) > 1:
        raise _UsageError(f"the weights fit several models ({', '.join(f[0] for f in found)}); "
                          "choose one with --model")
    name, shape, model = found[0]
    x = np.zeros((1,) + tuple(shape), dtype=next(iter(model.parameters())).dtype)
    try:
        proto = export(model, x, args.onnx, input_names=["input"], output_names=["logits"],
                       dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                       opset_version=args.opset)
    except ImportError as exc:
        raise _UsageError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise _UsageError(f"--onnx {args.onnx!r}: {exc}") from None
    print(f"wrote {args.onnx}: {name} for input batch x {'x'.join(map(str, shape))}, "
          f"{len(proto.graph.node)} nodes, opset {args.opset}")
    return 0
