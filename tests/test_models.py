"""Shapes, parameter counts and mixed-length batches of the poster's models."""

import copy

import pytest
import torch

from gesturelib import models

torch.set_num_threads(1)


@pytest.mark.parametrize("kind", ["cnn3d", "joint", "student_medium", "student_small"])
def test_paper_preset_matches_the_poster_within_one_percent(kind):
    count = models.count_params(models.build(kind, "paper"))
    assert abs(count / models.POSTER_PARAMS[kind] - 1) < 0.01, count


def test_course_preset_sizes_and_student_ratios():
    counts = {kind: models.count_params(models.build(kind, "course")) for kind in models.KINDS}
    for kind in ("cnn3d", "joint", "lstm"):
        assert 0.2e6 <= counts[kind] <= 0.4e6, (kind, counts[kind])
    for kind, ratio in models.STUDENT_RATIOS.items():
        assert abs(counts["joint"] / counts[kind] / ratio - 1) < 0.03, (kind, counts[kind])


@pytest.mark.parametrize("preset", models.PRESETS)
def test_students_come_from_the_rule(preset):
    joint = models.ARCHITECTURES[preset]["joint"]
    assert models.STUDENT_RATIOS == {"student_medium": 4, "student_small": 16}
    for kind, ratio in models.STUDENT_RATIOS.items():
        student = models.ARCHITECTURES[preset][kind]
        assert student == models.student_architecture(joint, ratio, preset)
        assert student.conv == tuple(round(maps * ratio ** -0.25) for maps in joint.conv)
        assert student.dropout == pytest.approx(0.5 * ratio ** -0.25, abs=1e-4)
        assert student.fc == student.lstm and student.strided
    assert "1/r of the joint model's parameters" in models.STUDENT_RULE
    assert " ".join(models.STUDENT_RULE.split()) in " ".join(models.student_architecture.__doc__.split())


def test_course_small_student_is_not_starved():
    convs = [m for m in models.build("student_small", "course").modules() if isinstance(m, torch.nn.Conv3d)]
    assert convs[0].out_channels >= 4


def test_parameter_formula_counts_the_built_models():
    for kind in ("joint", "student_medium", "student_small"):
        arch = models.ARCHITECTURES["course"][kind]
        assert models.recurrent_params(arch, "course") == models.count_params(models.build(kind, "course"))
    arch = models.ARCHITECTURES["course"]["lstm"]
    assert models.recurrent_params(arch, "course", temporal_kernel=1) == models.count_params(models.build("lstm"))


@pytest.mark.parametrize("kind", models.KINDS)
def test_every_dropout_layer_uses_the_architectures_rate(kind):
    rates = {m.p for m in models.build(kind, "course").modules() if isinstance(m, torch.nn.Dropout)}
    assert rates == {models.ARCHITECTURES["course"][kind].dropout}
    assert (rates == {0.5}) == (kind in ("cnn3d", "lstm", "joint"))


@pytest.mark.parametrize("kind", models.KINDS)
def test_course_models_map_a_batch_of_clips_to_20_logits(kind):
    model = models.build(kind, "course").eval()
    logits = model(torch.rand(3, *models.input_shape("course")))
    assert logits.shape == (3, 20)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("kind", ["cnn3d", "joint"])
def test_describe_lists_layers_with_shapes_and_all_parameters(kind):
    rows = models.describe(kind, "course")
    assert rows[-1].output_shape == (1, 20)
    assert sum(row.params for row in rows) == models.count_params(models.build(kind, "course"))
    assert any(row.layer == "Conv3d" for row in rows)


def test_describe_of_the_paper_3d_cnn_shows_pigou_maps():
    convs = [row for row in models.describe("cnn3d", "paper") if row.layer == "Conv3d"]
    assert [row.output_shape[1] for row in convs] == [2 * 16, 2 * 32, 2 * 48]  # body and hand maps side by side


@pytest.mark.parametrize("kind", ["joint", "lstm", "student_small"])
def test_padded_mixed_length_batch_equals_clips_run_one_by_one(kind):
    torch.manual_seed(0)
    model = models.build(kind, "course").eval()
    lengths = torch.tensor([16, 4, 11, 8, 10])  # 11 frames: two groups of 4 are read, 3 frames ignored
    batch = torch.rand(5, 2, 2, 16, 32, 32)
    together = model(batch, lengths=lengths)
    for i, length in enumerate(lengths.tolist()):
        alone = model(batch[i : i + 1, :, :, :length])
        torch.testing.assert_close(together[i : i + 1], alone, atol=1e-5, rtol=1e-4)


def test_a_mixed_length_batch_trains():
    model = models.build("joint", "course").train()
    model(torch.rand(3, 2, 2, 16, 32, 32), lengths=torch.tensor([16, 8, 12])).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("kind", ["joint", "student_medium", "student_small", "lstm"])
@pytest.mark.parametrize("frames", [4, 8, 16, 33])
def test_recurrent_models_read_4_8_16_and_33_frames(kind, frames):
    model = models.build(kind, "course").eval()
    steps = model.steps(torch.rand(2, 2, 2, frames, 32, 32))
    assert steps.shape == (2, frames // model.group_frames, models.ARCHITECTURES["course"][kind].fc)
    assert model(torch.rand(2, 2, 2, frames, 32, 32)).shape == (2, 20)


@pytest.mark.parametrize("kind", ["joint", "student_medium", "student_small"])
def test_no_parameter_sees_only_padding_on_a_course_clip(kind):
    # The trunk runs over the whole 16-frame clip: every temporal tap of every
    # convolution multiplies real frames for some output, so all get gradient.
    torch.manual_seed(0)
    model = models.build(kind, "course").train()
    model(torch.rand(2, *models.input_shape("course"))).square().sum().backward()
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, torch.nn.Conv3d)]
    assert len(convs) == 3  # each grouped: the body's and the hand's convolution side by side
    for name, conv in convs:
        per_tap = conv.weight.grad.abs().sum(dim=(0, 1, 3, 4))
        assert per_tap.shape == (3,) and (per_tap > 0).all(), (name, per_tap)
    # By shapes: the time axis at each convolution's input is at least its temporal kernel.
    frames_in = []
    hooks = [conv.register_forward_hook(lambda m, inputs, out: frames_in.append(inputs[0].shape[2]))
             for _, conv in convs]
    model.eval()(torch.rand(1, *models.input_shape("course")))
    for hook in hooks:
        hook.remove()
    assert min(frames_in) >= 3, frames_in


@pytest.mark.parametrize("kind", ["joint", "student_small"])
def test_time_steps_see_frames_across_group_boundaries(kind):
    model = models.build(kind, "course").eval()
    clips = torch.rand(1, *models.input_shape("course"), requires_grad=True)
    model.steps(clips)[0, 1].sum().backward()  # the second step: frames 4..7 and beyond
    seen = (clips.grad.abs().sum(dim=(0, 1, 2, 4, 5)) > 0).nonzero().flatten().tolist()
    assert seen[0] < 4 and seen[-1] > 7, seen


def test_students_keep_the_joint_models_shapes():
    def encoder_out(kind):
        rows = [row for row in models.describe(kind, "course") if row.name.startswith("encoder.")]
        return rows[-1].output_shape
    joint = encoder_out("joint")
    assert joint == (1, 64, 4, 4, 4)  # 2 streams x 32 maps; 16 frames -> 4 LSTM steps of 4x4 maps
    assert encoder_out("student_small")[2:] == joint[2:]
    assert encoder_out("student_medium")[2:] == joint[2:]


def test_padding_content_does_not_change_a_short_clip():
    model = models.build("joint", "course").eval()
    batch = torch.rand(2, 2, 2, 16, 32, 32)
    lengths = torch.tensor([16, 8])
    changed = batch.clone()
    changed[1, :, :, 8:] = 99.0
    torch.testing.assert_close(model(batch, lengths=lengths), model(changed, lengths=lengths))


def test_channels_last_3d_gives_the_same_logits():
    torch.manual_seed(0)
    model = models.build("cnn3d", "course").eval()
    clips = torch.rand(2, *models.input_shape("course"))
    expected = model(clips)
    model.to(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(model(clips), expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("kind", models.KINDS)
def test_stream_conversion_to_channels_last_changes_no_number(kind):
    """The input handed to the convolutions in their memory format: the very logits and gradients of
    letting each convolution convert it (what nn.Sequential alone would do)."""
    torch.manual_seed(0)
    model = models.build(kind, "course").to(memory_format=torch.channels_last_3d)
    clips = torch.rand(3, *models.input_shape("course"))

    def logits_and_grads():
        model.zero_grad()
        torch.manual_seed(1)  # the same dropout masks
        logits = model(clips)
        logits.square().sum().backward()
        return logits.detach(), [p.grad.clone() for p in model.parameters()]

    converted = logits_and_grads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models.TwoStreamEncoder, "maps",
                      lambda self, clips: torch.nn.Sequential.forward(self, clips.flatten(1, 2)))
        plain = logits_and_grads()
    assert torch.equal(converted[0], plain[0])
    assert all(torch.equal(a, b) for a, b in zip(converted[1], plain[1]))


def _one_stream(encoder: torch.nn.Sequential, stream: int) -> torch.nn.Sequential:
    """Stream ``stream``'s encoder on its own: plain convolutions and batch norms holding its half
    of the grouped layers' weights and statistics."""
    layers = []
    for layer in encoder:
        if isinstance(layer, torch.nn.Conv3d):
            own = torch.nn.Conv3d(layer.in_channels // 2, layer.out_channels // 2, layer.kernel_size,
                                  layer.stride, layer.padding, bias=False)
            own.weight.data = layer.weight.data.chunk(2)[stream].clone()
        elif isinstance(layer, torch.nn.BatchNorm3d):
            own = torch.nn.BatchNorm3d(layer.num_features // 2)
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(own, name).data = getattr(layer, name).data.chunk(2)[stream].clone()
        else:
            own = copy.deepcopy(layer)
        layers.append(own)
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("kind", models.KINDS)
@pytest.mark.parametrize("training", [True, False])
def test_grouped_encoder_is_two_separate_stream_encoders(kind, training):
    torch.manual_seed(0)
    encoder = models.build(kind, "course").encoder.train(training)
    for layer in encoder:  # statistics and affine terms that tell the maps apart
        if isinstance(layer, torch.nn.BatchNorm3d):
            for name in ("weight", "bias", "running_mean"):
                getattr(layer, name).data.normal_()
            layer.running_var.data.uniform_(0.5, 2.0)
    clips = torch.rand(3, *models.input_shape("course"))
    streams = [_one_stream(encoder, i).train(training) for i in range(2)]
    separate = torch.cat([stream(clips[:, i]).flatten(1) for i, stream in enumerate(streams)], dim=1)
    torch.testing.assert_close(encoder(clips), separate, atol=1e-5, rtol=1e-4)
    per_step = torch.cat([stream(clips[:, i]).transpose(1, 2).flatten(2) for i, stream in enumerate(streams)], dim=2)
    torch.testing.assert_close(encoder.steps(clips), per_step, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "kind, shape, lengths, message",
    [
        ("cnn3d", (1, 2, 2, 12, 32, 32), None, "exactly 16 frames"),
        ("joint", (1, 2, 2, 16, 64, 64), None, "32x32"),
        ("joint", (1, 2, 3, 16, 32, 32), None, "shape"),
        ("joint", (1, 2, 2, 3, 32, 32), None, "at least 4 frames"),
        ("joint", (2, 2, 2, 16, 32, 32), [16, 2], "lengths must lie"),
        ("joint", (2, 2, 2, 16, 32, 32), [16], "lengths must have shape"),
    ],
)
def test_bad_inputs_raise_clear_errors(kind, shape, lengths, message):
    model = models.build(kind, "course").eval()
    kwargs = {} if lengths is None else {"lengths": torch.tensor(lengths)}
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(shape), **kwargs)


def test_unknown_kind_or_preset_is_rejected():
    with pytest.raises(ValueError, match="unknown model kind"):
        models.build("resnet", "course")
    with pytest.raises(ValueError, match="unknown preset"):
        models.build("joint", "huge")


def test_a_preset_names_one_clip_recipe_and_one_set_of_widths():
    from gesturelib import cropping

    assert models.PRESETS == tuple(cropping.PRESETS) == tuple(models.ARCHITECTURES)
    for preset in models.PRESETS:
        settings = cropping.settings_for(preset)
        assert models.input_shape(preset) == (2, 2, settings.frames, settings.size, settings.size)
        model = models.build("joint", preset)
        assert model(torch.zeros(1, *models.input_shape(preset))).shape == (1, models.NUM_CLASSES)
