"""Write the PyTorch fixtures of tests/test_torch_state.py with real torch (not a dependency of hwsim or its tests).

Run once, in a scratch environment that has torch (never the project's):

    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchvenv/bin/python tests/data/make_torch_fixtures.py

Every file is a few KB. The tests read them with hwsim's own reader (always) and with torch (when installed).
"""
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).parent


class TinyCNN(nn.Module):
    """The network of tiny_cnn.toml: conv - BN - ReLU - grouped conv - ReLU - maxpool - flatten - linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2)
        self.fc = nn.Linear(72, 10)

    def forward(self, x):
        x = (x - 0.286) / 0.353
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def train(net: nn.Module, epochs: int = 2) -> None:
    """A few epochs of Adam on Fashion-MNIST (hwsim's loader), so that the fixture is a real trained network."""
    from models import fashion_mnist

    x, y = fashion_mnist.load("train")
    x, y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    net.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(128):
            opt.zero_grad()
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()


def main() -> None:
    torch.manual_seed(12)
    torch.set_num_threads(1)
    net = TinyCNN()
    train(net)
    with torch.no_grad():  # prune: some exact zeros in the linear layer (masked weights for hwsim)
        net.fc.weight[net.fc.weight.abs() < 0.02] = 0.0
    net.eval()
    torch.save(net.state_dict(), HERE / "tiny_cnn.pt")
    pixels = torch.randint(0, 256, (4, 1, 28, 28), generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    with torch.no_grad():
        y = net(pixels.float() / 255.0)  # the images as hwsim reads them: uint8 / 255 in float32
    np.savez(HERE / "tiny_cnn_io.npz", pixels=pixels.numpy(), logits=y.numpy())

    # the same network as PyTorch's (legacy) ONNX exporter writes it: normalisation as Sub/Div, PyTorch's names kept
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), HERE / "tiny_cnn.onnx", dynamo=False, do_constant_folding=False,
                      input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "N"}})

    # the im2col order: PyTorch's conv2d on random data, plain (square kernel, the zoo's Conv2d) and general
    g = torch.Generator().manual_seed(5)
    xc = torch.randn(2, 3, 7, 7, generator=g)
    w1, b1 = torch.randn(4, 3, 3, 3, generator=g), torch.randn(4, generator=g)
    w2, b2 = torch.randn(6, 1, 2, 3, generator=g), torch.randn(6, generator=g)
    np.savez(HERE / "conv_reference.npz", x=xc.numpy(), w1=w1.numpy(), b1=b1.numpy(),
             y1=F.conv2d(xc, w1, b1, stride=2, padding=1).numpy(), w2=w2.numpy(), b2=b2.numpy(),
             y2=F.conv2d(xc, w2, b2, stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=3).numpy())

    # file variants of one small state_dict
    torch.manual_seed(0)
    lin = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    torch.save(lin.state_dict(keep_vars=True), HERE / "torch_parameters.pt")       # nn.Parameter
    torch.save({k: v.to(torch.bfloat16) for k, v in lin.state_dict().items() if v.is_floating_point()},
               HERE / "torch_bfloat16.pt")
    torch.save({k: v.half() for k, v in lin.state_dict().items() if v.is_floating_point()}, HERE / "torch_half.pt")
    opt = torch.optim.Adam(lin.parameters())
    lin(torch.randn(4, 3)).sum().backward()
    opt.step()
    torch.save({"epoch": 3, "state_dict": lin.state_dict(), "optimizer": opt.state_dict()},
               HERE / "torch_checkpoint.pt")
    w = torch.arange(12.0).reshape(3, 4)
    torch.save({"w": w, "row": w[1], "t": w.t(), "tied": w, "empty": torch.zeros(0, 2), "scalar": torch.tensor(2.5),
                "flags": torch.tensor([True, False]), "i8": torch.tensor([-3, 4], dtype=torch.int8)},
               HERE / "torch_views.pt")                                            # shared storage, strides
    torch.save(lin, HERE / "torch_module.pt")                                       # a whole module: refused
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), HERE / "torch_script.pt")     # TorchScript: refused
    torch.save(lin.state_dict(), HERE / "torch_legacy.pt", _use_new_zipfile_serialization=False)  # refused


if __name__ == "__main__":
    main()
