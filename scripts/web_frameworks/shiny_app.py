"""Shiny for Python: one page with an input and an output."""
import sys

import uvicorn
from shiny import App, render, ui

app_ui = ui.page_fluid(ui.input_text("compute", "compute", "1e24"), ui.output_text("x"))


def server(input, output, session):
    @render.text
    def x():
        return input.compute()


uvicorn.run(App(app_ui, server), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
