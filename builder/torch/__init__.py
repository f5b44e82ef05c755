"""The torch.export front door: a .pt2 file (torch.export.save) -> gfsub's layer graph, by way of ONNX.

gfsub loads the ExportedProgram with the user's torch (no class code needed), exports it to ONNX itself with torch's
dynamo exporter, and reads that through the ONNX front door. The ExportedProgram, run by torch, is the verification's
reference. torch is an optional extra: `pip install 'gfsub[torch]'`.
"""
