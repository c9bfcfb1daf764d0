"""The seed's entry point: ``streamlit run interactive_labs/m07_deep_learning/pytorch_training_playground_app.py``.

A thin wrapper: it runs the page of :mod:`backproplab.playground.app` (the same one that
``backproplab playground`` opens). ``run_module`` executes the page afresh on every Streamlit rerun,
as Streamlit does with the script it was given.
"""

import runpy

runpy.run_module("backproplab.playground.app", run_name="__main__")
