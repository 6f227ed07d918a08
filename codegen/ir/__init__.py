"""The deployment IR: the contract between the trainer and code generation (docs/ir.md)."""

from .model import (IR_FORMAT, IR_VERSION, INT32_MAX, INT32_MIN, AddParams, IRError, Layer,
                    ModelIR, Requant, SignThreshold, Weights, load_ir, required_version, save_ir,
                    validate)
from .storage import StorageReport, StorageRow

__all__ = ["IR_FORMAT", "IR_VERSION", "INT32_MAX", "INT32_MIN", "AddParams", "IRError", "Layer",
           "ModelIR", "Requant", "SignThreshold", "StorageReport", "StorageRow", "Weights",
           "load_ir", "required_version", "save_ir", "validate"]
