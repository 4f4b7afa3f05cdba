"""python -m tools.train_tiny --out tests/data/digits-tdt.nemo"""
import os
import sys

from tools.train_tiny.train import main

code = main()
sys.stdout.flush()
os._exit(code)  # skip NeMo's slow interpreter teardown
