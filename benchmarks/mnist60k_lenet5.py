"""Not in CI: LeNet-5 on the full 60,000-image MNIST training set, 10 epochs, tested on the
official 10,000-image test set (target: at least 98.8 %).

    PYTHONPATH=. python benchmarks/mnist60k_lenet5.py [DIR_WITH_mnist_train60k.npz] [train options]

DIR defaults to $AUTOGRAD_CNN_DATA or ../shared/datasets beside the repository.  It runs the
``train`` command with a seeded 55,000 / 5,000 train / validation split and Adam, and prints the
command's JSON result (test_accuracy, seconds, images_per_second...) as its last line.
"""
import os
import sys

from autograd_cnn.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))


def run(argv):
    root = os.environ.get("AUTOGRAD_CNN_DATA",
                          os.path.join(HERE, "..", "..", "shared", "datasets"))
    if argv and not argv[0].startswith("-"):
        root, argv = argv[0], argv[1:]
    return main(["train", "--dataset", "mnist_train60k", "--data-dir", root, "--epochs", "10",
                 "--patience", "10", "--val-fraction", "0.0833333", "--batch-size", "64",
                 "--lr", "1e-3", "--json"] + list(argv))


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
