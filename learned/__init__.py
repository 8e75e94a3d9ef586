"""Transposed convolution and upsampling: "deconvolution" in the deep-learning sense.

(Public names are collected here once the modules land; see the submodules.)
"""
