"""Why MobileNetV3 tests near chance in its first epochs on the digits: BatchNorm momentum.

For each model, train the default schedule's first 4 epochs (of 15) and print, after each,
the training accuracy, the test accuracy in eval mode (what ``minicnn train`` reports: the
running statistics), and the test accuracy of the same weights with BatchNorm normalising by
the test batch's own statistics (train mode over the whole 355-image test split in one
batch; the running statistics are put back afterwards). A large gap between the last two
means the running statistics, not the weights, hold the test accuracy back.

    python benchmarks/bn_momentum.py > benchmarks/results/bn_momentum.txt
"""
import io
import tempfile

from minicnn import nn, no_grad
from minicnn.train import TrainConfig, Trainer

MODELS = [("mobilenet_v3_small", {"width_mult": 0.5}),
          ("efficientnet_b0", {"width_mult": 0.25, "depth_mult": 0.34})]


def batch_statistics_accuracy(trainer) -> float:
    norms = [m for m in trainer.model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [(m.running_mean.data.copy(), m.running_var.data.copy()) for m in norms]
    trainer.model.train()
    correct = count = 0
    with no_grad():
        for images, labels in trainer.test_loader:
            predicted = trainer.model(images).data.argmax(axis=1)
            correct += int((predicted == labels.data).sum())
            count += labels.shape[0]
    for norm, (mean, var) in zip(norms, saved):
        norm.running_mean.data[...], norm.running_var.data[...] = mean, var
    return correct / count


def main():
    for name, kwargs in MODELS:
        with tempfile.TemporaryDirectory() as folder:
            trainer = Trainer(TrainConfig(model=name, model_kwargs=kwargs, epochs=15),
                              out=folder + "/run", stream=io.StringIO())
            for epoch in range(4):
                if epoch:
                    trainer = Trainer(resume=folder + "/run/last.npz", stream=io.StringIO())
                trainer.run(stop_after_epochs=1)
                row = trainer.history[-1]
                momentum = sorted({m.momentum for m in trainer.model.modules()
                                   if isinstance(m, nn.BatchNorm2d)})
                print(f"{name} {kwargs} epoch {row['epoch']}: train acc "
                      f"{100 * row['train_acc']:.2f}%  test acc (eval mode, running statistics) "
                      f"{100 * row['test_acc']:.2f}%  test acc (batch statistics) "
                      f"{100 * batch_statistics_accuracy(trainer):.2f}%  BN momentum {momentum}",
                      flush=True)


if __name__ == "__main__":
    main()
