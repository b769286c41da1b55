import math

import pytest
import torch

from crossmodal.config import TrainConfig
from crossmodal.losses import (ContrastiveLoss, CrossReconstructionLoss, FeatureNormLoss, OrthogonalityLoss,
                               OutlierExposureLoss, PairDifferenceLoss, UnifiedLoss, ViewConsistencyLoss)


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


def test_view_consistency_is_the_jensen_shannon_divergence():
    loss = ViewConsistencyLoss()
    same = torch.tensor([[2.0, 0.0, -1.0]])
    assert loss(same, same + 5.0).item() == pytest.approx(0.0, abs=1e-6)  # softmax ignores a shift
    # certain of class 0 against certain of class 1: m = (1/2, 1/2), each KL = log 2
    certain = torch.tensor([[100.0, 0.0], [0.0, 100.0]])
    assert loss(certain, certain.flip(1)).item() == pytest.approx(math.log(2), abs=1e-5)
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4); KL(p||m) = log 4/3, KL(q||m) = (log 2/3 + log 2) / 2
    p, q = torch.tensor([[100.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    expected = (math.log(4 / 3) + (math.log(2 / 3) + math.log(2)) / 2) / 2
    assert loss(p, q).item() == pytest.approx(expected, abs=1e-5)
    assert loss(q, p).item() == pytest.approx(expected, abs=1e-5)


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


def test_consistency_term_needs_its_weight_and_a_second_view():
    out, labels = _fake_output()
    views = {"photo": {"proto_logits": torch.randn(4, 3)}}
    assert "consistency" not in UnifiedLoss(TrainConfig())(out, labels, views=views)[1]
    assert "consistency" not in UnifiedLoss(TrainConfig(w_consistency=2.0))(out, labels)[1]
    total, terms = UnifiedLoss(TrainConfig(w_consistency=2.0))(out, labels, views=views)
    expected = 2.0 * ViewConsistencyLoss()(out["photo"]["proto_logits"], views["photo"]["proto_logits"]).item()
    assert terms["consistency"] == pytest.approx(expected)
    assert total.item() == pytest.approx(sum(terms.values()), rel=1e-5)
    views["sketch"] = {"proto_logits": torch.randn(4, 3)}  # each modality's views agree on their own
    _, terms = UnifiedLoss(TrainConfig(w_consistency=2.0))(out, labels, views=views)
    expected += 2.0 * ViewConsistencyLoss()(out["sketch"]["proto_logits"], views["sketch"]["proto_logits"]).item()
    assert terms["consistency"] == pytest.approx(expected)


def test_contrastive_loss_is_nt_xent_by_hand():
    # two photos, each seen twice (rows k and k + 2); the photos orthogonal. Every row sees its
    # partner at cosine 1 and the two other views at cosine 0: -log(e^(1/t) / (e^(1/t) + 2 e^0))
    views = torch.tensor([[3.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 2.0]])
    assert ContrastiveLoss(0.5)(views).item() == pytest.approx(-math.log(math.e ** 2 / (math.e ** 2 + 2)))
    # the second views swapped between the photos: each row's partner is at cosine 0, another view at 1
    swapped = views[[0, 1, 3, 2]]
    assert ContrastiveLoss(0.5)(swapped).item() == pytest.approx(-math.log(1 / (math.e ** 2 + 2)))


def test_contrastive_term_needs_its_weight_and_unlabelled_views():
    out, labels = _fake_output()
    unlabelled = torch.randn(6, 5)
    weighted = UnifiedLoss(TrainConfig(w_contrastive=0.5))
    assert "contrastive" not in UnifiedLoss(TrainConfig())(out, labels, unlabelled=unlabelled)[1]
    assert "contrastive" not in weighted(out, labels)[1]
    assert "contrastive" not in weighted(out, labels, unified=False, unlabelled=unlabelled)[1]  # the branch stage
    _, terms = weighted(out, labels, unlabelled=unlabelled)
    assert terms["contrastive"] == pytest.approx(0.5 * ContrastiveLoss()(unlabelled).item())


def test_outlier_exposure_is_zero_for_uniform_beliefs_and_kl_to_uniform_by_hand():
    loss = OutlierExposureLoss()
    assert loss(torch.zeros(3, 4)).item() == pytest.approx(0.0, abs=1e-6)
    # beliefs (1/2, 1/4, 1/4): KL(u || p) = -(log 1/2 + 2 log 1/4) / 3 - log 3
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    expected = -(math.log(0.5) + 2 * math.log(0.25)) / 3 - math.log(3)
    assert loss(logits).item() == pytest.approx(expected, rel=1e-5)


def test_label_smoothing_spreads_each_class_terms_target_by_hand():
    out, _ = _fake_output(b=1)
    beliefs = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    for logits in (out["photo"]["branch_logits"], out["sketch"]["branch_logits"], out["joint"]["logits"],
                   out["photo"]["proto_logits"], out["sketch"]["proto_logits"]):
        logits.copy_(beliefs)
    labels = torch.tensor([0])
    # smoothing 0.3 over 3 classes: targets (0.8, 0.1, 0.1)
    expected = -(0.8 * math.log(0.5) + 0.2 * math.log(0.25))
    _, terms = UnifiedLoss(TrainConfig(label_smoothing=0.3))(out, labels)
    assert terms["joint_ce"] == pytest.approx(expected, rel=1e-5)
    assert terms["proto_ce"] == pytest.approx(2 * expected, rel=1e-5)
    assert terms["branch_ce"] == pytest.approx(2 * expected, rel=1e-5)
    _, plain = UnifiedLoss(TrainConfig())(out, labels)
    assert plain["joint_ce"] == pytest.approx(-math.log(0.5), rel=1e-5)
