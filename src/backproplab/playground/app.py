"""The playground page: widgets and layout only; every computation is in backproplab.playground.

Run with ``backproplab playground`` or ``streamlit run src/backproplab/playground/app.py``. Each
browser tab keeps its own training session in ``st.session_state``. While training runs, the script
ends in a loop that advances the session and streams every frame into placeholders drawn above it
(:mod:`backproplab.playground.live` says why); a click on any widget interrupts the loop with a
rerun, which applies the change and, if the run is still on, starts the loop again. Every setting
is mirrored in the page URL (:mod:`backproplab.playground.url`), so a link reopens an experiment.
"""

import time
from typing import TypeVar

import streamlit as st

from backproplab.layers.features import FEATURES
from backproplab.playground import (
    boundary,
    config,
    datasets,
    export,
    live,
    network_diagram,
    optimizer_paths,
    session,
    url,
)
from backproplab.playground.engines import torch_unavailable_reason

UPLOAD = "upload CSV"
STEP_BUDGET_S = live.FRAME_S / 2  # training takes at most half a frame, so the pictures keep their pace
FEATURE_LABELS = {
    "x1": "x₁",
    "x2": "x₂",
    "x1^2": "x₁²",
    "x2^2": "x₂²",
    "x1*x2": "x₁·x₂",
    "sin(x1)": "sin(x₁)",
    "sin(x2)": "sin(x₂)",
}
PENALTY_LABELS = {"none": "none", "l1": "L1: rate * sum |W|", "l2": "L2: rate * sum W^2 / 2"}
DEFAULTS = url.defaults()
T = TypeVar("T")

# a pure function of its arguments, the same for every user: memoising it shares no one's state
paths_png = st.cache_data(max_entries=32)(optimizer_paths.paths_png)

st.set_page_config(page_title="backproplab playground", layout="wide")
st.title("backproplab playground")
st.caption(
    "Train a small MLP live and watch the decision boundary bend while the loss falls. "
    "The from-scratch NumPy engine and PyTorch start from the same weights and see the same batches. "
    "The page's address holds every setting: copy it to share the experiment."
)
state = st.session_state

# ----- the shareable link: read once per browser session, before any widget is drawn --------------
if "url_messages" not in state:
    values, state["url_messages"] = url.read(st.query_params.to_dict())
    state.update(values)
for message in state["url_messages"]:
    st.warning(url.plain(message), icon=":material/link_off:")


def open_lesson() -> None:
    """Every setting back to its default, then the chosen lesson's (a callback: runs before the widgets)."""
    values, _ = url.read(url.LESSONS[state["lesson"]].query)
    state.update(DEFAULTS | values)


def key(name: str) -> str:
    """The widget key ``name``, its value set to the default unless the URL, a lesson or the user set it
    (so no widget needs a default of its own, and one hidden for a while gets it back when shown)."""
    state.setdefault(name, DEFAULTS[name])
    return name


def allow(name: str, options: tuple[T, ...]) -> tuple[T, ...]:
    """``options`` for the widget ``name``, whose value moves to the first option when it is not one of
    them (a link asking a sigmoid output of three classes, or the torch engine without torch)."""
    if state.get(name) not in options:
        state[name] = options[0]
    return options


side = st.sidebar

# ----- lessons ------------------------------------------------------------------------------------
side.header("Lessons")
side.selectbox("lesson", list(url.LESSONS), key="lesson", label_visibility="collapsed")
side.button("open the lesson", key="open_lesson", on_click=open_lesson, icon=":material/school:")
side.caption(url.LESSONS[state["lesson"]].text)

# ----- data ---------------------------------------------------------------------------------------
side.header("Data")
name = side.selectbox("dataset", [*datasets.DATASETS, UPLOAD], key=key("dataset"))
test_fraction = side.slider("test fraction", 0.0, datasets.MAX_TEST_FRACTION, step=0.05, key=key("test_fraction"))
data_seed = side.number_input("data seed", 0, url.MAX_SEED, key=key("data_seed"))
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
        n=side.slider("points", datasets.MIN_POINTS, datasets.MAX_POINTS, key=key("n")),
        noise=side.slider("noise", 0.0, datasets.MAX_NOISE, step=0.01, key=key("noise")),
        classes=side.slider("classes", 3, datasets.MAX_CLASSES, key=key("classes"))
        if datasets.DATASETS[name] is None
        else 3,
        test_fraction=test_fraction,
        seed=data_seed,
    )
    data = datasets.make_data(spec)
    data_id = repr(spec)
side.download_button(
    "download the data (CSV)", datasets.to_csv(data.X, data.y), export.DATA_FILE, "text/csv", on_click="ignore"
)

# ----- network ------------------------------------------------------------------------------------
side.header("Network")
features = side.multiselect(
    "input features", FEATURES, key=key("features"), format_func=lambda f: FEATURE_LABELS[f], help="feature crosses"
)
hidden_text = side.text_input(
    f"hidden units per layer (up to {config.MAX_HIDDEN_LAYERS} layers of {config.MAX_UNITS})", key=key("hidden")
)
activation = side.selectbox("activation", config.ACTIVATIONS, key=key("activation"))
outputs: tuple[config.OutputName, ...] = (
    ("linear",) if data.regression else ("sigmoid", "softmax") if data.n_classes == 2 else ("softmax",)
)
output = side.selectbox("output", allow(key("output"), outputs), key="output")
init_seed = side.number_input("initialisation seed", 0, url.MAX_SEED, key=key("seed"))

# ----- regularization -----------------------------------------------------------------------------
side.header("Regularization")
regularization = side.selectbox(
    "penalty",
    config.REGULARIZATIONS,
    key=key("regularization"),
    format_func=lambda r: PENALTY_LABELS[r],
)
reg_rate = side.select_slider(
    "regularization rate", config.REG_RATES, key=key("reg_rate"), help="TensorFlow Playground's scale"
)
dropout = side.slider("dropout on the hidden layers", 0.0, config.MAX_DROPOUT, step=0.05, key=key("dropout"))

# ----- training -----------------------------------------------------------------------------------
side.header("Training")
optimizer = side.selectbox("optimizer", config.OPTIMIZERS, key=key("optimizer"))
lr = side.select_slider("learning rate", url.LEARNING_RATES, key=key("lr"), help="applies from the next step")
batch_size = side.number_input("batch size", 1, config.MAX_BATCH, key=key("batch_size"))
use_clip = side.checkbox("clip", key=key("use_clip"))
clip = side.number_input("clip gradient norm at", 0.01, 100.0, key=key("clip")) if use_clip else None
torch_reason = torch_unavailable_reason()
engines = config.ENGINES if torch_reason is None else ("numpy",)
engine = side.radio("engine", allow(key("engine"), engines), key="engine", horizontal=True)
if torch_reason is not None:
    side.caption(f"The PyTorch engine is disabled: {torch_reason}")
steps_per_frame = side.slider("steps per frame", 1, 200, key=key("steps_per_frame"))
side.caption(
    "Learning rate, batch size, clipping and the regularization rate apply to the run in progress; "
    "other settings start over."
)
if name != UPLOAD:  # an uploaded file cannot travel in a link
    query = url.write(state.to_dict())
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)

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
        features=tuple(f for f in FEATURES if f in features),
        regularization=regularization,
        reg_rate=reg_rate,
        dropout=dropout,
    )
    run = session.current_session(state, data_id, data, train_config)
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
penalised = train_config.regularization != "none" and train_config.reg_rate > 0

# ----- the live view: placeholders, filled now and then by every frame of the loop at the end -------
metric_slots = [c.empty() for c in st.columns(len(live.metric_pairs(run.history[-1], data.regression, penalised)))]
left, right = st.columns(2)
with left.container(key="boundary"):
    picture_slot = st.empty()
with right.container(key="curve"):
    curve_slot = st.empty()
    norms_slot = st.empty()
with st.container(key="network"):
    network_slot = st.empty()
layers = len(train_config.hidden) + 1
weights_layer = st.selectbox(
    "read the weights of layer", range(1, layers + 1), key="weights_layer", help="the layer's W, as in the diagram"
)
weights_slot = st.empty()
caption = "test points edged white" + (", colour: the predicted value" if data.regression else "")
res = live.picture_res(run.engine.weights()[::2])


def draw(parts: set[str]) -> None:
    """Fill the live view from the session: the metrics and the picture always, ``parts`` of the rest
    (``"curve"``: the loss curve and gradient norms; ``"network"``: the diagram and the weights)."""
    for slot, (label, value) in zip(
        metric_slots, live.metric_pairs(run.history[-1], data.regression, penalised), strict=True
    ):
        slot.metric(label, value)
    picture_slot.image(
        live.data_uri(live.frame_picture(run.engine, extent, data, res)),
        caption=f"{run.engine.name} engine, step {run.steps}: x1 left to right, x2 bottom to top; {caption}",
    )
    if "curve" in parts:
        c = session.curves(run.history)
        curve_slot.image(
            live.data_uri(live.curve_image(c["step"], c["train loss"], c.get("test loss")), "PNG"),
            caption="loss of the data (without the penalty) on the training and the test set",
        )
        if run.grad_norms:
            labels = [f"layer {i}" for i in range(1, len(run.grad_norms) + 1)]
            norms_slot.image(
                live.data_uri(live.bars_image(run.grad_norms, labels), "PNG"),
                caption="gradient norm of each layer at the last step (before clipping)",
            )
    if "network" in parts:
        net = run.mlp()
        network_slot.image(
            live.data_uri(network_diagram.network_picture(net, extent), "PNG"),
            caption="the network: each unit's output over the plane; blue weights positive, orange negative, "
            "thicker the larger",
        )
        names = network_diagram.input_names(net)
        weights_slot.dataframe(
            network_diagram.weight_table(network_diagram.network_weights(net), weights_layer, names), height=180
        )


clock = live.Clock()
draw(clock.due(time.perf_counter()))

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
            f"step losses over the first {agreement.steps} steps: same seed, same batches, the same dropout "
            "masks, the same mid-run changes of learning rate, batch size, clipping or regularization rate, float64"
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
    st.caption("Each file is made when you click, from the weights of that moment; training goes on.")
    st.download_button(
        "model (.npz, MLP.save)",
        lambda: export.model_bytes(run.mlp()),
        export.MODEL_FILE,
        key="dl_model",
        on_click="ignore",
    )
    st.download_button(
        "picture (PNG)",
        lambda: live.encode(live.frame_picture(run.engine, extent, data)),
        "playground_picture.png",
        "image/png",
        key="dl_png",
        on_click="ignore",
    )
    st.download_button(
        "evaluation script (.py)",
        lambda: export.evaluation_script(*export.score(run.mlp(), data)),
        "evaluate_playground_model.py",
        key="dl_script",
        on_click="ignore",
    )
    st.caption("Save all three with the data CSV in one folder and run `python evaluate_playground_model.py`.")

# ----- the live loop: last, so that everything above is on the page while it runs ------------------
frames_left = state.get("live_frames")  # None: until paused or stopped; the AppTest tests set a number
with live.one_math_thread():
    while run.running and frames_left != 0:
        start = time.perf_counter()
        run.advance(steps_per_frame, STEP_BUDGET_S)
        if not run.running:  # it stopped itself: a full rerun redraws the buttons and says why
            st.rerun()
        draw(clock.due(start))
        frames_left = None if frames_left is None else frames_left - 1
        clock.wait(start)
