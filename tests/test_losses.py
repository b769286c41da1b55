import pytest
import torch

from crossmodal.config import TrainConfig
from crossmodal.losses import (CrossReconstructionLoss, FeatureNormLoss, OrthogonalityLoss, PairDifferenceLoss,
                               UnifiedLoss)


def test_orthogonality_is_zero_for_uncorrelated_features():
    z = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
    assert OrthogonalityLoss()(z).item() == pytest.approx(0.0, abs=1e-6)


def test_orthogonality_of_two_identical_features():
    # correlation matrix [[1, 1], [1, 1]]: ||C - I||^2 = 2, divided by C = 2 features
    z = torch.tensor([[1.0, 1.0], [-1.0, -1.0], [2.0, 2.0]])
    assert OrthogonalityLoss()(z).item() == pytest.approx(1.0, abs=1e-6)


def test_pair_difference_on_the_unit_sphere():
    loss = PairDifferenceLoss()
    assert loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])).item() == pytest.approx(2.0)
    assert loss(torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0, 0.0]])).item() == pytest.approx(0.0)
    assert loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[-3.0, 0.0]])).item() == pytest.approx(4.0)


def test_feature_norm_is_the_mean_of_squared_norms():
    v_a = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    v_b = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    assert FeatureNormLoss()(v_a, v_b).item() == pytest.approx(((25 + 1) + (0 + 2)) / 2)


def test_cross_reconstruction_is_the_sum_of_two_mse():
    loss = CrossReconstructionLoss()(torch.tensor([[1.0, 1.0]]), torch.tensor([[0.0, 1.0]]),
                                     torch.tensor([[2.0]]), torch.tensor([[0.0]]))
    assert loss.item() == pytest.approx(0.5 + 4.0)


def _fake_output(k=3, b=4, c=5, d=6):
    torch.manual_seed(0)
    side = lambda: {"Z": torch.rand(b, c), "branch_logits": torch.randn(b, k), "V": torch.randn(b, d),  # noqa: E731
                    "proto_logits": torch.randn(b, k)}
    joint = {"logits": torch.randn(b, k), "photo_to_sketch": torch.randn(b, c), "sketch_to_photo": torch.randn(b, c)}
    return {"photo": side(), "sketch": side(), "joint": joint}, torch.tensor([0, 1, 2, 0])


def test_unified_loss_sums_the_weighted_terms():
    out, labels = _fake_output()
    total, terms = UnifiedLoss(TrainConfig())(out, labels)
    assert set(terms) == {"branch_ce", "orthogonality", "pair", "joint_ce", "proto_ce", "norm", "decoder"}
    assert total.item() == pytest.approx(sum(terms.values()), rel=1e-5)


def test_zero_weight_switches_a_term_off_and_stage_one_has_branch_terms_only():
    out, labels = _fake_output()
    _, terms = UnifiedLoss(TrainConfig(w_pair=0.0, w_decoder=0.0))(out, labels)
    assert terms["pair"] == 0.0 and terms["decoder"] == 0.0
    _, terms = UnifiedLoss(TrainConfig())(out, labels, unified=False)
    assert set(terms) == {"branch_ce", "orthogonality"}
