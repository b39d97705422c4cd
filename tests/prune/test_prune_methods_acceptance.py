"""Issue 14 acceptance on the real network: one-shot 90 % without fine-tuning, layer-wise OBS keeps the shipped
LeNet-300-100 more accurate than magnitude pruning (per layer, as OBS is, and global)."""
import pytest

import models
from hwsim import prune as hp
from hwsim.prune import obs


@pytest.mark.slow
def test_obs_beats_magnitude_one_shot_at_90_percent_without_finetuning(have_data):
    from models import fashion_mnist

    net = models.get("lenet-300-100", pretrained=True)
    x, y = fashion_mnist.load("train", limit=2000)
    xt, yt = fashion_mnist.load("test")
    pruned, info = obs.obs_prune(net, (x, y), sparsity=0.9)
    assert info.sparsity == pytest.approx(0.9, abs=1e-3)
    acc_obs = pruned.accuracy(xt, yt)
    for scope in ("layer", "global"):
        mag = hp.prune(net, None, criterion="magnitude", sparsity=0.9, scope=scope)
        assert acc_obs > mag.accuracy(xt, yt) + 0.05, scope
