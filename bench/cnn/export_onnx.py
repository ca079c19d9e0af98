#!/usr/bin/python3
"""Exports an instsim model file to ONNX (dynamic batch axis) for ONNX Runtime.

    /usr/bin/python3 bench/cnn/export_onnx.py MODEL.safetensors OUT.onnx

The network is rebuilt in PyTorch from the file's layer table by
test/unit/gen_nn_ref.py (the same code the unit-test reference comes from).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "unit"))
import gen_nn_ref  # noqa: E402


def main():
    meta, tensors = gen_nn_ref.read_safetensors(sys.argv[1])
    net = gen_nn_ref.build(meta, tensors)
    shape = [1] + gen_nn_ref.json.loads(meta["input_shape"])
    torch.onnx.export(net, torch.zeros(shape), sys.argv[2], input_names=["mel"], output_names=["emb"],
                      dynamic_axes={"mel": {0: "batch"}, "emb": {0: "batch"}}, opset_version=13)


if __name__ == "__main__":
    main()
