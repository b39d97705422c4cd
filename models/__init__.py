"""The hwsim model zoo: trainable LeNets with shipped Fashion-MNIST weights, and shape-only large networks.

``models.get(name)`` returns a :class:`hwsim.nn.Network` (trainable, ``pretrained=True`` loads the shipped
weights) or a :class:`models.shapes.ShapeNetwork` (shapes and MVM counts only, synthetic weights). The registry
(:data:`REGISTRY`, :func:`entry`) says which models are trainable, which ship weights and how those were trained;
:func:`workload` binds a weights file to a model (or to no model) the way ``hwsim cost/evaluate`` do.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

from hwsim.errors import ConfigError, DataError
from hwsim.nn import Network
from hwsim.workload import MatrixLayer

from . import shapes
from .lenet import lenet5, lenet_300_100
from .resnet import RESNET_TRAINING, resnet20
from .shapes import ShapeNetwork

WEIGHTS_DIR = Path(__file__).parent / "weights"

Model = Union[Network, ShapeNetwork]

#: How ``python -m models.train_pretrained`` trains every shipped network (Adam, cosine learning-rate decay).
PRETRAINING = {"epochs": 20, "lr": 1e-3, "batch_size": 128, "weight_decay": 0.0, "seed": 20261125}
_FASHION_MNIST_RECIPE = ("Fashion-MNIST training set only (60k images), Adam lr {lr:g}, batch {batch_size}, cosine "
                         "decay, {epochs} epochs, weight decay {weight_decay:g}, seed {seed}: "
                         "python -m models.train_pretrained --model {name}")


@dataclass(frozen=True)
class ModelEntry:
    """One model of the zoo."""

    name: str
    build: Callable[..., Model]
    """Constructor: ``build(seed=...)`` for trainable models, ``build()`` for shape-only ones."""
    trainable: bool
    """A :class:`hwsim.nn.Network` that trains, prunes and evaluates (else shapes and MVM counts only)."""
    training: str | None = None
    """How the shipped weights were trained (None: no shipped weights)."""
    title: str = ""
    """Display name in figures and reports (default: ``name``)."""

    @property
    def weights_path(self) -> Path | None:
        """The shipped weights file, or None."""
        return WEIGHTS_DIR / f"{self.name}.npz" if self.training is not None else None

    @property
    def ships_weights(self) -> bool:
        """True when shipped weights exist on disk."""
        return self.weights_path is not None and self.weights_path.is_file()


REGISTRY: dict[str, ModelEntry] = {e.name: e for e in (
    ModelEntry("lenet-300-100", lenet_300_100, True, _FASHION_MNIST_RECIPE.format(name="lenet-300-100", **PRETRAINING),
               "LeNet-300-100"),
    ModelEntry("lenet5", lenet5, True, _FASHION_MNIST_RECIPE.format(name="lenet5", **PRETRAINING), "LeNet-5"),
    ModelEntry("resnet20", resnet20, True,
               "Fashion-MNIST training set only (60k images), trained with batch norm (batch statistics), SGD lr {lr:g} "
               "momentum {momentum:g} weight decay {weight_decay:g}, batch {batch_size}, cosine decay, {epochs} epochs, "
               "random crop (pad {crop_pad}) and horizontal flip, seed {seed}; batch norms folded into the "
               "convolutions: python -m models.train_pretrained --model resnet20".format(**RESNET_TRAINING),
               "ResNet-20"),
    ModelEntry("vgg16", shapes.vgg16, False, title="VGG-16"),
    ModelEntry("vgg8-cifar", shapes.vgg8_cifar, False, title="VGG-8 (CIFAR-10)"),
    ModelEntry("resnet18", shapes.resnet18, False, title="ResNet-18"),
    ModelEntry("resnet50", shapes.resnet50, False, title="ResNet-50"),
    ModelEntry("bert-base-block", shapes.bert_base_block, False, title="BERT-base block"),
)}


def names() -> list[str]:
    """Registered model names."""
    return list(REGISTRY)


def entry(name: str) -> ModelEntry:
    """The registry entry of ``name``."""
    if name not in REGISTRY:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(names())}")
    return REGISTRY[name]


def get(name: str, pretrained: bool = False, seed: int = 0) -> Model:
    """Build a registered model. ``pretrained`` loads the shipped weights (models that ship them only)."""
    e = entry(name)
    if not e.trainable:
        if pretrained:
            raise ConfigError(f"model {name!r} is shape-only: it has no pretrained weights")
        return e.build()
    net = e.build(seed=seed)
    if pretrained:
        if e.weights_path is None:
            raise ConfigError(f"model {name!r} ships no pretrained weights; train it or pass a weights file")
        if not e.weights_path.is_file():
            raise DataError(f"shipped weights {e.weights_path} are missing; reinstall hwsim or run "
                            "'python -m models.train_pretrained'")
        net.load(e.weights_path)
    return net


def is_onnx(path: str | Path | None) -> bool:
    """Whether ``path`` names an ONNX model (by its ``.onnx`` suffix): a file that holds the architecture too."""
    return path is not None and Path(path).suffix.lower() == ".onnx"


def is_layer_spec(model: str | Path | None) -> bool:
    """Whether ``model`` names a layer-spec file (``.toml``, :mod:`hwsim.importers.layer_spec`) instead of a zoo
    model: your own architecture, its weights from ``--state`` or ``--weights``."""
    return model is not None and Path(model).suffix.lower() == ".toml"


def evaluable(model: str | Path | None, weights: str | Path | None = None) -> bool:
    """Whether ``--model model --weights weights`` gives a network that evaluates, prunes and trains (a trainable zoo
    model, a layer spec or an ONNX graph) rather than weight matrices only."""
    if model is None:
        return is_onnx(weights)
    return is_layer_spec(model) or (str(model) in REGISTRY and REGISTRY[str(model)].trainable)


def workload(model: str | None = None, weights: str | Path | None = None, *, trainable: bool = False, seed: int = 0,
             sparsity: float = 0.0, pattern: str = "random", input_shape: Any = None, mean: Any = None,
             std: Any = None, state: Any = None) -> Any:
    """What ``hwsim cost/evaluate/prune --model/--weights/--state`` map: weights bound to an architecture.

    * ``weights`` an ``.onnx`` file (no ``model``): the imported graph network (:func:`hwsim.importers.load_onnx`,
      with ``input_shape`` / ``mean`` / ``std``, and ``state``, a state file or dict of PyTorch-named tensors
      replacing the graph's initializers), which evaluates, costs and runs on hardware like a zoo network;
    * ``model`` a layer-spec file (``SPEC.toml``, :mod:`hwsim.importers.layer_spec`): that network, its weights from
      ``state`` (PyTorch names: ``.pt``, ``.safetensors``, ``.npz``) or ``weights`` (hwsim's ``.npz``, e.g. what
      ``hwsim prune`` wrote); ``input_shape`` / ``mean`` / ``std`` override the spec's;
    * ``model`` a zoo name and ``state``: the trainable model with the state's PyTorch-named tensors
      (``conv1.weight`` 4-D, ``fc1.bias``, ...; :func:`hwsim.importers.bind_state`: every name must match);
    * ``model`` alone: the model, with its shipped weights when it ships them (a trainable model that ships none
      keeps its seeded initialisation), or a shape-only model's synthetic weights at ``sparsity``/``pattern``;
    * ``model`` and ``weights``: the model with the file's weights (2-D matrices or 4-D convolution weights; a
      shape-only model: the file's matrices must match its shapes and its MVM counts are used);
    * ``weights`` alone: the file's 2-D matrices, one MVM per inference each (a 4-D convolution weight is refused:
      its MVMs per inference need the architecture).

    ``trainable=True`` demands a network that can be evaluated (a trainable model, a layer spec, an ONNX graph).
    """
    from hwsim.weights_io import read_weights

    if model is None and weights is None:
        raise ConfigError("give --model NAME|SPEC.toml or --weights FILE.npz|FILE.onnx")
    if is_onnx(weights):
        if model is not None:
            raise ConfigError(f"--model {model}: not with an ONNX file ({weights} holds the architecture)")
        from hwsim.importers import load_onnx

        return load_onnx(weights, input_shape=input_shape, mean=mean, std=std, state=state)
    if state is not None and weights is not None:
        raise ConfigError(f"--state {state} and --weights {weights}: two sources of weights for one network; give "
                          "one (--state: PyTorch names; --weights: hwsim's .npz)")
    if is_layer_spec(model):
        from hwsim.importers import load_layer_spec

        if trainable and state is None and weights is None:
            raise ConfigError(f"--model {model}: a layer spec holds no weights; evaluating or pruning it needs "
                              "--state FILE.pt|.safetensors|.npz (PyTorch names) or --weights FILE.npz (hwsim's "
                              "format, e.g. from hwsim prune)")
        net = load_layer_spec(model, state=state, input_shape=input_shape, mean=mean, std=std)
        if weights is not None:
            net.load(weights)
        return net
    given = [f for f, v in (("--input-shape", input_shape), ("--mean", mean), ("--std", std)) if v is not None]
    if given:
        raise ConfigError(f"{', '.join(given)}: only with --weights FILE.onnx or --model SPEC.toml (input "
                          "preprocessing of an imported network)")
    if state is not None:
        if model is None:
            raise ConfigError("--state needs an architecture to bind to: --model NAME|SPEC.toml or --weights "
                              "FILE.onnx")
        e = entry(model)
        if not e.trainable:
            trained = ", ".join(n for n, x in REGISTRY.items() if x.trainable)
            raise ConfigError(f"--state: model {model!r} is shape-only; a state binds to a trainable zoo model "
                              f"({trained}), a layer spec (SPEC.toml) or an ONNX graph")
        from hwsim.importers import bind_state

        return bind_state(e.build(seed=seed), state, f"zoo model {model!r}")
    if model is None:
        if trainable:
            raise ConfigError("--weights FILE.npz without --model gives matrices only; evaluating needs --model "
                              "NAME|SPEC.toml or an ONNX file (--weights FILE.onnx)")
        wf = read_weights(weights)
        if wf.kernels:
            k = next(iter(wf.kernels))
            raise ConfigError(f"--weights {weights}: array {k!r} is a 4-D convolution weight {wf.kernels[k]}; its "
                              "MVMs per inference depend on the input size, which a weights file does not hold: give "
                              "the architecture too (--model NAME or --model SPEC.toml)")
        return [MatrixLayer(k, w, 1) for k, w in wf.weights]
    e = entry(model)
    if e.trainable:
        net = get(model, pretrained=weights is None and e.ships_weights, seed=seed)
        if weights is not None:
            net.load(weights)
        return net
    if trainable:
        trained = ", ".join(n for n, x in REGISTRY.items() if x.trainable)
        raise ConfigError(f"model {model!r} is shape-only; evaluating accuracy needs a trained model ({trained}), a "
                          "layer spec or an ONNX graph")
    shape_net = e.build()
    if weights is not None:
        wf = read_weights(weights)
        if [w.shape for _, w in wf.weights] != [l.shape for l in shape_net.layers]:
            raise ConfigError(f"--weights {weights} does not match the shapes of {model}")
        return [MatrixLayer(s.name, w, s.mvms_per_inference) for s, (_, w) in zip(shape_net.layers, wf.weights)]
    return shape_net.matrix_layers(seed=seed, sparsity=sparsity, pattern=pattern)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    kind: str
    """'trainable' or 'shapes'."""
    layers: int
    """Weighted layers (2-D matrices)."""
    weights: int
    params: int
    """Weights plus biases."""
    mvms_per_inference: int
    pretrained: bool


def info(name: str) -> ModelInfo:
    e = entry(name)
    m = get(name)
    n_layers = len(m.weighted_layers()) if e.trainable else len(m.layers)
    return ModelInfo(name, "trainable" if e.trainable else "shapes", n_layers, m.num_weights(), m.num_params(),
                     m.mvms_per_inference(), e.trainable and e.ships_weights)
