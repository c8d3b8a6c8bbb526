"""NiceGUI: one page with a label and an input."""
import sys

from nicegui import ui


@ui.page("/")
def page():
    ui.label("hello")
    ui.input("compute")


ui.run(host="127.0.0.1", port=int(sys.argv[1]), reload=False, show=False, show_welcome_message=False)
