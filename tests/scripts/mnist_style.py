# A small training script written the way PyTorch's examples are (pytorch/examples mnist/main.py,
# the "Training a Classifier" tutorial), run by tests/test_porting_script.py on the bundled 8x8
# digits. Only the import block below differs from the PyTorch version of this file (the test
# makes that version by swapping the block, and runs both).
import argparse

import numpy as np

# --- imports (the only lines that differ from the PyTorch version) ---
import autograd_cnn as torch
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
import autograd_cnn.optim as optim
from autograd_cnn.utils.data import DataLoader, TensorDataset
from autograd_cnn.optim.lr_scheduler import StepLR
# --- end of imports ---


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1, padding=1)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(128, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), (2, 2))
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        output = F.log_softmax(self.fc2(x), dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    total = 0.0
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f"Train Epoch: {epoch} Average loss: {total / len(train_loader):.4f}")


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    correct_max = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
            _, predicted = torch.max(output.data, 1)
            correct_max += (predicted == target).sum().item()
    n = len(test_loader.dataset)
    test_loss /= n
    print(f"Test set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{n} "
          f"({100. * correct / n:.1f}%) max-agree: {correct_max}")
    return correct / n


def main():
    parser = argparse.ArgumentParser(description="digits example")
    parser.add_argument("data", help="an .npz file with 'images' (N, 8, 8) and 'labels' (N,)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save-model", default="")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    if torch.backends.mps.is_available():
        device = torch.device("mps")
    torch.backends.cudnn.benchmark = False

    with np.load(args.data) as z:
        images = z["images"].astype(np.float32) / 16.0
        labels = z["labels"].astype(np.int64)
    x = torch.from_numpy(images).unsqueeze(1)
    y = torch.from_numpy(labels)
    mean, std = x[:1500].mean().item(), x[:1500].std().item()
    x = (x - mean) / std
    train_set = TensorDataset(x[:1500], y[:1500])
    test_set = TensorDataset(x[1500:], y[1500:])
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True, num_workers=2,
                              pin_memory=use_cuda)
    test_loader = DataLoader(test_set, batch_size=500)

    model = Net().to(device)
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    accuracy = test(model, device, test_loader)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        accuracy = test(model, device, test_loader)
        scheduler.step()
    if args.save_model:
        torch.save(model.state_dict(), args.save_model)
    print(f"final accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
