"""Loads the sdn-router program (a file without a .py suffix) as a module for the tests."""

import importlib.machinery
import importlib.util
import os

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sdn-router")


def load():
    loader = importlib.machinery.SourceFileLoader("sdn_router", PATH)
    spec = importlib.util.spec_from_loader("sdn_router", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
