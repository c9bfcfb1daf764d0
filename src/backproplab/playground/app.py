"""The playground page: widgets and layout only; every computation is in backproplab.playground.

Run with ``backproplab playground`` or ``streamlit run src/backproplab/playground/app.py``. Each
browser tab keeps its own training session in ``st.session_state``; while training runs, the live
panel is a fragment that reruns every ``FRAME_S`` seconds and advances the session a few steps.
"""

import streamlit as st

from backproplab.playground import boundary, config, datasets, export, optimizer_paths, session
from backproplab.playground.engines import torch_unavailable_reason

FRAME_S = 0.25  # seconds between live updates while training
STEP_BUDGET_S = 0.12  # at most this long training per update, so the page keeps its frame rate
UPLOAD = "upload CSV"
LEARNING_RATES = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]

# a pure function of its arguments, the same for every user: memoising it shares no one's state
paths_png = st.cache_data(max_entries=32)(optimizer_paths.paths_png)

st.set_page_config(page_title="backproplab playground", layout="wide")
st.title("backproplab playground")
st.caption(
    "Train a small MLP live and watch the decision boundary bend while the loss falls. "
    "The from-scratch NumPy engine and PyTorch start from the same weights and see the same batches."
)
side = st.sidebar

# ----- data ---------------------------------------------------------------------------------------
side.header("Data")
name = side.selectbox("dataset", [*datasets.DATASETS, UPLOAD], key="dataset")
test_fraction = side.slider("test fraction", 0.0, datasets.MAX_TEST_FRACTION, 0.2, 0.05, key="test_fraction")
data_seed = side.number_input("data seed", 0, 2**31 - 1, 0, key="data_seed")
if name == UPLOAD:
    upload = side.file_uploader("x1,x2,label CSV (header optional)", type=["csv", "txt"], key="csv")
    if upload is None:
        st.info("Upload a CSV file of `x1,x2,label` rows (labels 0..K-1), or choose a dataset.")
        st.stop()
    try:
        data = datasets.parse_csv(upload.getvalue(), test_fraction, data_seed, upload.name)
    except datasets.CSVError as e:
        st.error(f"{upload.name}: {e}")
        st.stop()
    data_id = f"csv {upload.file_id} {test_fraction} {data_seed}"
else:
    spec = datasets.DataSpec(
        name=name,
        n=side.slider("points", datasets.MIN_POINTS, datasets.MAX_POINTS, 200, 8, key="n"),
        noise=side.slider("noise", 0.0, datasets.MAX_NOISE, 0.1, 0.01, key="noise"),
        classes=side.slider("classes", 3, datasets.MAX_CLASSES, 3, key="classes")
        if datasets.DATASETS[name] is None
        else 3,
        test_fraction=test_fraction,
        seed=data_seed,
    )
    data = datasets.make_data(spec)
    data_id = repr(spec)
side.download_button("download the data (CSV)", datasets.to_csv(data.X, data.y), export.DATA_FILE, "text/csv")

# ----- network and training -----------------------------------------------------------------------
side.header("Network")
hidden_text = side.text_input(
    f"hidden units per layer (up to {config.MAX_HIDDEN_LAYERS} layers of {config.MAX_UNITS})", "8, 8", key="hidden"
)
activation = side.selectbox("activation", config.ACTIVATIONS, key="activation")
output = side.selectbox("output", config.OUTPUTS if data.n_classes == 2 else ("softmax",), key="output")
init_seed = side.number_input("initialisation seed", 0, 2**31 - 1, 0, key="seed")
side.header("Training")
optimizer = side.selectbox("optimizer", config.OPTIMIZERS, index=2, key="optimizer")
lr = side.select_slider("learning rate", LEARNING_RATES, 0.03, key="lr", help="applies from the next step")
batch_size = side.number_input("batch size", 1, config.MAX_BATCH, 32, key="batch_size")
clip = (
    side.number_input("clip gradient norm at", 0.01, 100.0, 1.0, key="clip")
    if side.checkbox("clip", key="use_clip")
    else None
)
torch_reason = torch_unavailable_reason()
engine = side.radio("engine", config.ENGINES if torch_reason is None else ("numpy",), key="engine", horizontal=True)
if torch_reason is not None:
    side.caption(f"The PyTorch engine is disabled: {torch_reason}")
steps_per_frame = side.slider("steps per update", 1, 200, 10, key="steps_per_frame")
side.caption("Learning rate, batch size and clipping apply to the run in progress; other settings start over.")

try:
    train_config = config.TrainConfig(
        hidden=config.parse_hidden(hidden_text),
        activation=activation,
        output=output,
        seed=init_seed,
        optimizer=optimizer,
        lr=lr,
        batch_size=batch_size,
        clip=clip,
        engine=engine,
    )
    run = session.current_session(st.session_state, data_id, data, train_config)
except ValueError as e:
    st.error(str(e))
    st.stop()

# ----- controls -----------------------------------------------------------------------------------
cols = st.columns(4)
# callbacks run before the script, so every button below is drawn with the state after the click
running, stopped = run.running, run.stopped is not None
cols[0].button(
    "train", icon=":material/play_arrow:", key="train", type="primary", on_click=run.start, disabled=running or stopped
)
cols[1].button("pause", icon=":material/pause:", key="pause", on_click=run.pause, disabled=not running)
cols[2].button("one step", key="step", on_click=run.one_step, disabled=stopped)
cols[3].button("reset", key="reset", on_click=run.reset)
if run.stopped:
    st.warning(run.stopped)
extent = boundary.extent_of(data.X)


@st.fragment(run_every=FRAME_S if run.running else None)
def live_panel() -> None:
    """Metrics, boundary, curves, gradient norms and hidden-unit maps; while running, each rerun trains a
    little first."""
    if run.running:
        run.advance(steps_per_frame, STEP_BUDGET_S)
        if not run.running:  # it stopped itself: a full rerun turns the timer off and shows why
            st.rerun()
    m = run.history[-1]
    shown = st.columns(6)
    shown[0].metric("step", m.step)
    shown[1].metric("epoch", m.epoch)
    shown[2].metric("train loss", session.format_loss(m.train_loss))
    shown[3].metric("train accuracy", f"{m.train_acc:.1%}")
    shown[4].metric("test loss", session.format_loss(m.test_loss))
    shown[5].metric("test accuracy", "-" if m.test_acc is None else f"{m.test_acc:.1%}")
    left, right = st.columns(2)
    proba = boundary.boundary_grid(run.engine.predict_proba, extent)
    x1_lo, x1_hi, x2_lo, x2_hi = extent
    with left.container(key="boundary"):
        st.image(
            boundary.boundary_image(proba, extent, data),
            caption=f"decision boundary ({run.engine.name} engine): x1 from {x1_lo:.2f} to {x1_hi:.2f} "
            f"left to right, x2 from {x2_lo:.2f} to {x2_hi:.2f} bottom to top; test points edged white",
            output_format="PNG",  # sharp points; JPEG would blur them
        )
    right.line_chart(session.curves(run.history), x="step", x_label="step", height=230)
    if run.grad_norms:
        right.caption("gradient norm of each layer at the last step (before clipping)")
        right.bar_chart(
            {"layer": [f"layer {i}" for i in range(1, len(run.grad_norms) + 1)], "norm": run.grad_norms},
            x="layer",
            height=160,
        )
    with st.expander("Hidden-unit activation maps"):  # inside the fragment: the maps follow the training
        if not train_config.hidden:
            st.write("No hidden layers: the network is a linear classifier.")
        elif st.toggle("show the maps", key="show_maps"):
            layer = st.selectbox("hidden layer", range(1, len(train_config.hidden) + 1), key="maps_layer")
            maps = boundary.hidden_maps(run.mlp(), extent)[layer - 1]
            st.image(
                boundary.hidden_maps_mosaic(maps),
                caption=f"each unit of hidden layer {layer} over the plane (first 16; blue low, red high)",
                output_format="PNG",
            )


live_panel()

# ----- looking inside -----------------------------------------------------------------------------
with st.expander("Gradient check"):
    st.write("Backprop's gradients against five-point finite differences, on the current weights.")
    if st.button("run the gradient check", key="gradcheck"):
        st.table(
            [
                {
                    "param": r.name,
                    "shape": str(r.shape),
                    "max rel error": f"{r.max_rel_error:.2e}",
                    "band": r.band,
                    "checked": r.checked,
                    "near a ReLU kink": r.near_kink,
                }
                for r in run.gradient_check()
            ]
        )

with st.expander("Do the two engines agree?"):
    if torch_reason is not None:
        st.write(f"Only the NumPy engine is available: {torch_reason}")
    elif st.button("replay with both engines", key="agree"):
        agreement = session.engine_agreement(data, run.start_config, max(run.steps, 1), run.retunes)
        st.metric("largest relative gap |NumPy - PyTorch| / max(1, |NumPy|)", f"{agreement.max_rel_diff:.2e}")
        st.caption(
            f"step losses over the first {agreement.steps} steps: same seed, same batches, "
            "the same mid-run changes of learning rate, batch size or clipping, float64"
        )
        if agreement.stopped:
            st.warning(agreement.stopped)
        st.line_chart(agreement.chart(), height=200)

with st.expander("Optimizers on a 2-D loss surface (exercise 7.6)"):
    surface = optimizer_paths.SURFACES[st.selectbox("surface", list(optimizer_paths.SURFACES), key="surface")]
    lr_cols = st.columns(4)
    path_lrs = tuple(
        (
            opt,
            lr_cols[i].number_input(
                f"{opt} lr", 1e-5, 10.0, surface.lrs[opt], format="%.4f", key=f"lr_{opt}_{surface.name}"
            ),
        )
        for i, opt in enumerate(config.OPTIMIZERS)
    )
    path_steps = lr_cols[3].number_input("steps", 1, optimizer_paths.MAX_PATH_STEPS, 200, key="path_steps")
    st.image(paths_png(surface.name, path_lrs, path_steps), caption="w_t for each optimizer: the path and f(w_t)")

with st.expander("Downloads"):
    net_now = run.mlp()
    accuracy = net_now.accuracy(data.X, data.y)
    st.download_button("model (.npz, MLP.save)", lambda: export.model_bytes(net_now), export.MODEL_FILE, key="dl_model")
    st.download_button(
        "decision boundary (PNG)",
        lambda: boundary.render_boundary(
            boundary.boundary_grid(run.engine.predict_proba, extent), extent, data, f"{data.name}, step {run.steps}"
        ),
        "playground_boundary.png",
        "image/png",
        key="dl_png",
    )
    st.download_button(
        "evaluation script (.py)", export.evaluation_script(accuracy), "evaluate_playground_model.py", key="dl_script"
    )
    st.caption("Save all three with the data CSV in one folder and run `python evaluate_playground_model.py`.")
