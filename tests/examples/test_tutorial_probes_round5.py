"""Tutorial probes, round 5: small, seeded, synthetic-data versions of classic public
PyTorch programs not covered by round 4, each run three ways - PyTorch, graphtorch
eagerly, and graphtorch with the model (``"model"``) or a step (``"step"``) compiled -
with losses, printed lines, predictions and final parameters compared.

Programs: the Spatial Transformer Networks tutorial (``affine_grid``/``grid_sample``);
text classification with ``EmbeddingBag`` and offsets (collate_fn, ``random_split``,
``StepLR``); transfer learning (fine-tuning, a frozen feature extractor, parameter
groups, ``set_grad_enabled``, ``copy.deepcopy(state_dict)``); pytorch/examples mnist
(Adadelta, ``StepLR``) and the FGSM adversarial-example tutorial; DQN (replay memory,
``gather``, boolean-mask assignment, ``SmoothL1Loss``, ``AdamW(amsgrad=True)``,
``clip_grad_value_``, the soft target update through ``state_dict``); neural style
transfer (gram matrices, loss modules that store ``self.loss``, ``Sequential`` slicing,
``LBFGS`` on the input image); the 60-minute blitz; the char-RNN name classifier and
generator; word embeddings (N-gram, CBOW) and the bag-of-words classifier;
fast_neural_style's ``TransformerNet`` pieces; mnist_hogwild (``share_memory()`` and a
forked ``multiprocessing.Process`` training the parent's model); "Learn the Basics"
(a custom ``Dataset``, the one-hot ``target_transform``, ``Flatten``/``Sequential``,
autograd's ``grad_fn`` and accumulation, the optimization loop, saving weights).
"""

from __future__ import annotations

import copy
import math
import random
import string
from collections import deque, namedtuple
from itertools import count

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch
from tests.examples.probe_harness import check_probe, reference_of
from tests.examples.test_tutorial_probes_round4 import FakeCartPole


def _np(t):
    return t.detach().numpy().copy()


def _state(model):
    return {k: _np(v) for k, v in model.state_dict().items()}


def _mnist_like(n, seed):
    """Normalised 1x28x28 images with labels, as `datasets.MNIST` + `Normalize` give."""
    rng = np.random.default_rng(seed)
    images = ((rng.random((n, 1, 28, 28)) - 0.1307) / 0.3081).astype(np.float32)
    return images, rng.integers(0, 10, n)


# ---- 1. tutorials: Spatial Transformer Networks ----
def stn(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    torch.manual_seed(0)
    images, labels = _mnist_like(24, 1)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    train_loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True)
    test_loader = torch.utils.data.DataLoader(dataset, batch_size=12, shuffle=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(320, 50)
            self.fc2 = nn.Linear(50, 10)

            # Spatial transformer localization-network
            self.localization = nn.Sequential(
                nn.Conv2d(1, 8, kernel_size=7),
                nn.MaxPool2d(2, stride=2),
                nn.ReLU(True),
                nn.Conv2d(8, 10, kernel_size=5),
                nn.MaxPool2d(2, stride=2),
                nn.ReLU(True)
            )

            # Regressor for the 3 * 2 affine matrix
            self.fc_loc = nn.Sequential(
                nn.Linear(10 * 3 * 3, 32),
                nn.ReLU(True),
                nn.Linear(32, 3 * 2)
            )

            # Initialize the weights/bias with identity transformation
            self.fc_loc[2].weight.data.zero_()
            self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

        # Spatial transformer network forward function
        def stn(self, x):
            xs = self.localization(x)
            xs = xs.view(-1, 10 * 3 * 3)
            theta = self.fc_loc(xs)
            theta = theta.view(-1, 2, 3)

            grid = F.affine_grid(theta, x.size())
            x = F.grid_sample(x, grid)

            return x

        def forward(self, x):
            # transform the input
            x = self.stn(x)

            # Perform the usual forward pass
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 320)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=self.training)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    model = Net().to(device)
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    fwd = torch.compile(model) if compiled == "model" else model
    out = []

    def train_step(data, target):
        optimizer.zero_grad()
        output = fwd(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step

    def train(epoch):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            loss = step(data, target)
            if batch_idx % 1 == 0:
                out.append('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    100. * batch_idx / len(train_loader), loss.item()))

    def test():
        with torch.no_grad():
            model.eval()
            test_loss = 0
            correct = 0
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = fwd(data)
                # sum up batch loss
                test_loss += F.nll_loss(output, target, reduction='sum').item()
                # get the index of the max log-probability
                pred = output.max(1, keepdim=True)[1]
                correct += pred.eq(target.view_as(pred)).sum().item()

            test_loss /= len(test_loader.dataset)
            out.append('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'
                       .format(test_loss, correct, len(test_loader.dataset),
                               100. * correct / len(test_loader.dataset)))

    def convert_image_np(inp):
        """Convert a Tensor to numpy image."""
        inp = inp.numpy().transpose((1, 2, 0))
        mean = np.array([0.485, 0.456, 0.406])
        std = np.array([0.229, 0.224, 0.225])
        inp = std * inp + mean
        inp = np.clip(inp, 0, 1)
        return inp

    def visualize_stn():
        with torch.no_grad():
            # Get a batch of training data
            data = next(iter(test_loader))[0].to(device)

            input_tensor = data.cpu()
            transformed_input_tensor = model.stn(data).cpu()
            out.append(convert_image_np(input_tensor[0].repeat(3, 1, 1)))
            out.append(convert_image_np(transformed_input_tensor[0].repeat(3, 1, 1)))

    for epoch in range(1, 3):
        train(epoch)
        test()
    visualize_stn()
    out.append(_state(model))
    return out


# ---- 2. tutorials: text classification with nn.EmbeddingBag (torchtext-free) ----
_WORDS = ("the match team ball goal score market stock price bank trade chip phone "
          "software data cloud win lose rises falls new old").split()


def _news(n, seed):
    rng = random.Random(seed)
    return [(rng.randint(1, 4), " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 9))))
            for _ in range(n)]


def text_classification(lib, compiled):
    torch = lib
    nn = lib.nn
    DataLoader = torch.utils.data.DataLoader
    random_split = torch.utils.data.random_split
    device = torch.device("cpu")
    train_iter, test_iter = _news(40, 0), _news(16, 1)
    tokenizer = str.split
    itos = ["<unk>"] + sorted({w for _, text in train_iter for w in tokenizer(text)})
    stoi = {w: i for i, w in enumerate(itos)}
    vocab = lambda tokens: [stoi.get(t, 0) for t in tokens]
    text_pipeline = lambda x: vocab(tokenizer(x))
    label_pipeline = lambda x: int(x) - 1
    out = [text_pipeline("here is the an example"), label_pipeline("10")]

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(label_pipeline(_label))
            processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list.to(device), text_list.to(device), offsets.to(device)

    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size, embed_dim, num_class):
            super(TextClassificationModel, self).__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
            self.fc = nn.Linear(embed_dim, num_class)
            self.init_weights()

        def init_weights(self):
            initrange = 0.5
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.fc.weight.data.uniform_(-initrange, initrange)
            self.fc.bias.data.zero_()

        def forward(self, text, offsets):
            embedded = self.embedding(text, offsets)
            return self.fc(embedded)

    torch.manual_seed(0)
    num_class = len(set([label for (label, text) in train_iter]))
    vocab_size = len(itos)
    emsize = 16
    model = TextClassificationModel(vocab_size, emsize, num_class).to(device)
    fwd = torch.compile(model) if compiled == "model" else model

    EPOCHS = 3
    LR = 5
    BATCH_SIZE = 8
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    total_accu = None

    def train_step(text, offsets, label):
        optimizer.zero_grad()
        predicted_label = fwd(text, offsets)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        return predicted_label, loss
    step = torch.compile(train_step) if compiled == "step" else train_step

    def train(dataloader):
        model.train()
        total_acc, total_count = 0, 0
        for idx, (label, text, offsets) in enumerate(dataloader):
            predicted_label, loss = step(text, offsets, label)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
            out.append(loss.item())
        out.append(total_acc / total_count)

    def evaluate(dataloader):
        model.eval()
        total_acc, total_count = 0, 0
        with torch.no_grad():
            for idx, (label, text, offsets) in enumerate(dataloader):
                predicted_label = fwd(text, offsets)
                loss = criterion(predicted_label, label)
                out.append(loss.item())
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
        return total_acc / total_count

    train_dataset = list(train_iter)
    test_dataset = list(test_iter)
    num_train = int(len(train_dataset) * 0.95)
    split_train_, split_valid_ = random_split(
        train_dataset, [num_train, len(train_dataset) - num_train])
    train_dataloader = DataLoader(split_train_, batch_size=BATCH_SIZE,
                                  shuffle=True, collate_fn=collate_batch)
    valid_dataloader = DataLoader(split_valid_, batch_size=BATCH_SIZE,
                                  shuffle=True, collate_fn=collate_batch)
    test_dataloader = DataLoader(test_dataset, batch_size=BATCH_SIZE,
                                 shuffle=True, collate_fn=collate_batch)
    for epoch in range(1, EPOCHS + 1):
        train(train_dataloader)
        accu_val = evaluate(valid_dataloader)
        if total_accu is not None and total_accu > accu_val:
            scheduler.step()
        else:
            total_accu = accu_val
        out.append("| end of epoch {:3d} | valid accuracy {:8.3f} | lr {}".format(
            epoch, accu_val, scheduler.get_last_lr()))
    out.append("test accuracy {:8.3f}".format(evaluate(test_dataloader)))

    ag_news_label = {1: "World", 2: "Sports", 3: "Business", 4: "Sci/Tec"}

    def predict(text, text_pipeline):
        with torch.no_grad():
            text = torch.tensor(text_pipeline(text))
            output = model(text, torch.tensor([0]))
            return output.argmax(1).item() + 1

    model = model.to("cpu")
    out.append(ag_news_label[predict("the stock market rises on new chip data", text_pipeline)])
    out.append(_state(model))
    if compiled:
        out.append(("compiles", (fwd if compiled == "model" else step).compile_count <= 4))
    else:
        out.append(("compiles", True))
    return out


# ---- 3. tutorials: transfer learning (fine-tuning, fixed feature extractor) ----
def _tiny_resnet(lib):
    """A ResNet shaped like torchvision's (conv1/bn1/relu/maxpool, layer1, avgpool, fc)."""
    nn = lib.nn

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)

        def forward(self, x):
            identity = x
            out = self.conv1(x)
            out = self.bn1(out)
            out = self.relu(out)
            out = self.conv2(out)
            out = self.bn2(out)
            out += identity
            out = self.relu(out)
            return out

    class ResNet(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 8))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(8 * BasicBlock.expansion, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def forward(self, x):
            x = self.conv1(x)
            x = self.bn1(x)
            x = self.relu(x)
            x = self.maxpool(x)
            x = self.layer1(x)
            x = self.avgpool(x)
            x = lib.flatten(x, 1)
            x = self.fc(x)
            return x

    return ResNet


def transfer_learning(lib, compiled):
    torch = lib
    nn = lib.nn
    optim = lib.optim
    lr_scheduler = lib.optim.lr_scheduler
    device = torch.device("cpu")
    rng = np.random.default_rng(3)
    image_datasets = {x: torch.utils.data.TensorDataset(
        torch.from_numpy(rng.standard_normal((12, 3, 16, 16)).astype(np.float32)),
        torch.from_numpy(rng.integers(0, 2, 12))) for x in ['train', 'val']}
    torch.manual_seed(0)
    dataloaders = {x: torch.utils.data.DataLoader(image_datasets[x], batch_size=4,
                                                  shuffle=True, num_workers=0)
                   for x in ['train', 'val']}
    dataset_sizes = {x: len(image_datasets[x]) for x in ['train', 'val']}
    class_names = ['ants', 'bees']
    out = []
    ResNet = _tiny_resnet(lib)

    def train_model(model, criterion, optimizer, scheduler, num_epochs=25):
        best_model_wts = copy.deepcopy(model.state_dict())
        best_acc = 0.0
        fwd = torch.compile(model) if compiled == "model" else model

        def step(inputs, labels, phase):
            optimizer.zero_grad()
            with torch.set_grad_enabled(phase == 'train'):
                outputs = fwd(inputs)
                _, preds = torch.max(outputs, 1)
                loss = criterion(outputs, labels)
                if phase == 'train':
                    loss.backward()
                    optimizer.step()
            return loss, preds
        step = torch.compile(step) if compiled == "step" else step

        for epoch in range(num_epochs):
            out.append(f'Epoch {epoch}/{num_epochs - 1}')
            out.append('-' * 10)
            for phase in ['train', 'val']:
                if phase == 'train':
                    model.train()
                else:
                    model.eval()
                running_loss = 0.0
                running_corrects = 0
                for inputs, labels in dataloaders[phase]:
                    inputs = inputs.to(device)
                    labels = labels.to(device)
                    loss, preds = step(inputs, labels, phase)
                    running_loss += loss.item() * inputs.size(0)
                    running_corrects += torch.sum(preds == labels.data)
                if phase == 'train':
                    scheduler.step()
                epoch_loss = running_loss / dataset_sizes[phase]
                epoch_acc = running_corrects.double() / dataset_sizes[phase]
                out.append(f'{phase} Loss: {epoch_loss:.4f} Acc: {epoch_acc:.4f}')
                if phase == 'val' and epoch_acc > best_acc:
                    best_acc = epoch_acc
                    best_model_wts = copy.deepcopy(model.state_dict())
        out.append(f'Best val Acc: {best_acc:4f}')
        model.load_state_dict(best_model_wts)
        return model

    def visualize_model(model, num_images=6):
        was_training = model.training
        model.eval()
        images_so_far = 0
        with torch.no_grad():
            for i, (inputs, labels) in enumerate(dataloaders['val']):
                outputs = model(inputs)
                _, preds = torch.max(outputs, 1)
                for j in range(inputs.size()[0]):
                    images_so_far += 1
                    out.append(f'predicted: {class_names[preds[j]]}')
                    if images_so_far == num_images:
                        model.train(mode=was_training)
                        return
            model.train(mode=was_training)

    # ConvNet as fixed feature extractor... after finetuning the whole ConvNet
    model_ft = ResNet()  # the "pretrained" weights
    num_ftrs = model_ft.fc.in_features
    model_ft.fc = nn.Linear(num_ftrs, 2)
    model_ft = model_ft.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer_ft = optim.SGD(model_ft.parameters(), lr=0.001, momentum=0.9)
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_ft, step_size=7, gamma=0.1)
    model_ft = train_model(model_ft, criterion, optimizer_ft, exp_lr_scheduler, num_epochs=2)
    visualize_model(model_ft)
    out.append(_state(model_ft))

    model_conv = ResNet()
    for param in model_conv.parameters():
        param.requires_grad = False
    num_ftrs = model_conv.fc.in_features
    model_conv.fc = nn.Linear(num_ftrs, 2)
    model_conv = model_conv.to(device)
    optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.001, momentum=0.9)
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=1, gamma=0.1)
    model_conv = train_model(model_conv, criterion, optimizer_conv, exp_lr_scheduler,
                             num_epochs=2)
    out.append(_state(model_conv))
    out.append([n for n, p in model_conv.named_parameters() if p.requires_grad])

    # the "finetuning torchvision models" tutorial: feature_extract + params_to_update,
    # and parameter groups with their own learning rates (optim docs)
    model = ResNet()
    def set_parameter_requires_grad(model, feature_extracting):
        if feature_extracting:
            for param in model.parameters():
                param.requires_grad = False
    set_parameter_requires_grad(model, True)
    model.fc = nn.Linear(num_ftrs, 2)
    model.layer1[1].requires_grad_(True)
    params_to_update = []
    for name, param in model.named_parameters():
        if param.requires_grad == True:
            params_to_update.append(param)
            out.append("\t" + name)
    optimizer = optim.SGD([{'params': model.layer1[1].parameters()},
                           {'params': model.fc.parameters(), 'lr': 1e-2}],
                          lr=1e-3, momentum=0.9)
    out.append(sum(len(g['params']) for g in optimizer.param_groups) == len(params_to_update))
    out.append([g['lr'] for g in optimizer.param_groups])
    train_model(model, criterion, optimizer, lr_scheduler.StepLR(optimizer, 1, 0.5), num_epochs=1)
    out.append(_state(model))
    return out


# ---- 4. pytorch/examples mnist (Adadelta, StepLR) and the FGSM tutorial ----
def mnist_fgsm(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    StepLR = lib.optim.lr_scheduler.StepLR
    out = []

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 8, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(1152, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    torch.manual_seed(1)
    device = torch.device("cpu")
    images, labels = _mnist_like(16, 4)
    dataset1 = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    train_loader = torch.utils.data.DataLoader(dataset1, batch_size=8, shuffle=True)
    test_loader = torch.utils.data.DataLoader(dataset1, batch_size=1, shuffle=False)
    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    fwd = torch.compile(model) if compiled == "model" else model

    def train_step(data, target):
        optimizer.zero_grad()
        output = fwd(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step) if compiled == "step" else train_step

    def train(model, device, train_loader, optimizer, epoch):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            loss = step(data, target)
            out.append('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))

    def test(model, device, test_loader):
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = fwd(data)
                test_loss += F.nll_loss(output, target, reduction='sum').item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        out.append('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset)))

    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    for epoch in range(1, 3):
        train(model, device, train_loader, optimizer, epoch)
        test(model, device, test_loader)
        scheduler.step()

    # FGSM
    epsilons = [0, .05, .3]

    def fgsm_attack(image, epsilon, data_grad):
        sign_data_grad = data_grad.sign()
        perturbed_image = image + epsilon*sign_data_grad
        perturbed_image = torch.clamp(perturbed_image, 0, 1)
        return perturbed_image

    def denorm(batch, mean=[0.1307], std=[0.3081]):
        if isinstance(mean, list):
            mean = torch.tensor(mean).to(device)
        if isinstance(std, list):
            std = torch.tensor(std).to(device)
        return batch * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)

    def normalize(tensor, mean=(0.1307,), std=(0.3081,)):  # transforms.Normalize
        mean = torch.as_tensor(mean, dtype=tensor.dtype, device=tensor.device)
        std = torch.as_tensor(std, dtype=tensor.dtype, device=tensor.device)
        return tensor.sub(mean.view(-1, 1, 1)).div(std.view(-1, 1, 1))

    def attack(data, target, epsilon):
        output = fwd(data)
        loss = F.nll_loss(output, target)
        model.zero_grad()
        loss.backward()
        data_grad = data.grad.data
        data_denorm = denorm(data)
        perturbed_data = fgsm_attack(data_denorm, epsilon, data_grad)
        perturbed_data_normalized = normalize(perturbed_data)
        output = fwd(perturbed_data_normalized)
        return perturbed_data, output
    attack_step = torch.compile(attack) if compiled == "step" else attack

    def test_fgsm(model, device, test_loader, epsilon):
        correct = 0
        adv_examples = []
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            data.requires_grad = True
            output = fwd(data)
            init_pred = output.max(1, keepdim=True)[1]
            if init_pred.item() != target.item():
                continue
            perturbed_data, output = attack_step(data, target, epsilon)
            final_pred = output.max(1, keepdim=True)[1]
            if final_pred.item() == target.item():
                correct += 1
                if epsilon == 0 and len(adv_examples) < 5:
                    adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                    adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
            else:
                if len(adv_examples) < 5:
                    adv_ex = perturbed_data.squeeze().detach().cpu().numpy()
                    adv_examples.append((init_pred.item(), final_pred.item(), adv_ex))
        final_acc = correct/float(len(test_loader))
        out.append(f"Epsilon: {epsilon}\tTest Accuracy = {correct} / {len(test_loader)} = {final_acc}")
        return final_acc, adv_examples

    # the tutorial attacks a model trained with dropout; its predictions must be
    # confident enough for some test points to survive `init_pred != target`
    model.eval()
    accuracies = []
    examples = []
    for eps in epsilons:
        acc, ex = test_fgsm(model, device, test_loader, eps)
        accuracies.append(acc)
        examples.append(ex)
    out.append(accuracies)
    out.append([[(a, b, e.shape, e) for a, b, e in ex] for ex in examples])
    out.append(_state(model))
    return out


# ---- 5. tutorials: Reinforcement Learning (DQN) ----
def dqn(lib, compiled):
    torch = lib
    nn = lib.nn
    optim = lib.optim
    device = torch.device("cpu")
    Transition = namedtuple('Transition', ('state', 'action', 'next_state', 'reward'))

    class ReplayMemory(object):
        def __init__(self, capacity):
            self.memory = deque([], maxlen=capacity)

        def push(self, *args):
            """Save a transition"""
            self.memory.append(Transition(*args))

        def sample(self, batch_size):
            return rng.sample(self.memory, batch_size)

        def __len__(self):
            return len(self.memory)

    class DQN(nn.Module):
        def __init__(self, n_observations, n_actions):
            super(DQN, self).__init__()
            self.layer1 = nn.Linear(n_observations, 32)
            self.layer2 = nn.Linear(32, 32)
            self.layer3 = nn.Linear(32, n_actions)

        def forward(self, x):
            x = F.relu(self.layer1(x))
            x = F.relu(self.layer2(x))
            return self.layer3(x)

    F = lib.nn.functional
    rng = random.Random(7)
    env = FakeCartPole(3)
    torch.manual_seed(3)
    BATCH_SIZE = 8
    GAMMA = 0.99
    EPS_START = 0.9
    EPS_END = 0.05
    EPS_DECAY = 100
    TAU = 0.005
    LR = 1e-3
    n_actions = 2
    state, info = env.reset()
    n_observations = len(state)
    policy_net = DQN(n_observations, n_actions).to(device)
    target_net = DQN(n_observations, n_actions).to(device)
    target_net.load_state_dict(policy_net.state_dict())
    optimizer = optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
    memory = ReplayMemory(100)
    steps_done = 0
    out = []
    policy = torch.compile(policy_net) if compiled == "model" else policy_net
    target = torch.compile(target_net) if compiled == "model" else target_net

    def select_action(state):
        nonlocal steps_done
        sample = rng.random()
        eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1. * steps_done / EPS_DECAY)
        steps_done += 1
        if sample > eps_threshold:
            with torch.no_grad():
                return policy(state).max(1).indices.view(1, 1)
        else:
            return torch.tensor([[rng.randrange(2)]], device=device, dtype=torch.long)

    def optimize_step(state_batch, action_batch, reward_batch, non_final_mask,
                      non_final_next_states):
        state_action_values = policy(state_batch).gather(1, action_batch)
        next_state_values = torch.zeros(BATCH_SIZE, device=device)
        with torch.no_grad():
            next_state_values[non_final_mask] = target(non_final_next_states).max(1).values
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch
        criterion = nn.SmoothL1Loss()
        loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        return loss
    step = torch.compile(optimize_step) if compiled == "step" else optimize_step

    def optimize_model():
        if len(memory) < BATCH_SIZE:
            return
        transitions = memory.sample(BATCH_SIZE)
        batch = Transition(*zip(*transitions))
        non_final_mask = torch.tensor(tuple(map(lambda s: s is not None,
                                                batch.next_state)), device=device, dtype=torch.bool)
        non_final_next_states = torch.cat([s for s in batch.next_state
                                           if s is not None])
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)
        loss = step(state_batch, action_batch, reward_batch, non_final_mask,
                    non_final_next_states)
        out.append(loss.item())

    episode_durations = []
    num_episodes = 3
    for i_episode in range(num_episodes):
        state, info = env.reset()
        state = torch.tensor(state, dtype=torch.float32, device=device).unsqueeze(0)
        for t in count():
            action = select_action(state)
            observation, reward, terminated, truncated, _ = env.step(action.item())
            reward = torch.tensor([reward], device=device)
            done = terminated or truncated
            if terminated:
                next_state = None
            else:
                next_state = torch.tensor(observation, dtype=torch.float32,
                                          device=device).unsqueeze(0)
            memory.push(state, action, next_state, reward)
            state = next_state
            optimize_model()
            # Soft update of the target network's weights
            target_net_state_dict = target_net.state_dict()
            policy_net_state_dict = policy_net.state_dict()
            for key in policy_net_state_dict:
                target_net_state_dict[key] = policy_net_state_dict[key]*TAU + \
                    target_net_state_dict[key]*(1-TAU)
            target_net.load_state_dict(target_net_state_dict)
            if done:
                episode_durations.append(t + 1)
                break
    durations_t = torch.tensor(episode_durations, dtype=torch.float)
    out.append(episode_durations)
    out.append(durations_t.mean().item())
    out.append(_state(policy_net))
    out.append(_state(target_net))
    out.append(sorted(optimizer.state_dict()["state"][0]))
    return out


# ---- 6. tutorials: Neural Transfer (style transfer with LBFGS on the image) ----
def style_transfer(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    device = torch.device("cpu")
    torch.set_default_device(device)
    imsize = 16
    rng = np.random.default_rng(5)
    style_img = torch.from_numpy(rng.random((1, 3, imsize, imsize)).astype(np.float32))
    content_img = torch.from_numpy(rng.random((1, 3, imsize, imsize)).astype(np.float32))
    assert style_img.size() == content_img.size(), \
        "we need to import style and content images of the same size"
    unloader = lambda t: t.detach().numpy().transpose(1, 2, 0)  # ToPILImage, as floats
    out = []

    def imshow(tensor, title=None):
        image = tensor.cpu().clone()
        image = image.squeeze(0)
        out.append((title, unloader(image)))

    class ContentLoss(nn.Module):
        def __init__(self, target,):
            super(ContentLoss, self).__init__()
            self.target = target.detach()

        def forward(self, input):
            self.loss = F.mse_loss(input, self.target)
            return input

    def gram_matrix(input):
        a, b, c, d = input.size()
        features = input.view(a * b, c * d)
        G = torch.mm(features, features.t())
        return G.div(a * b * c * d)

    class StyleLoss(nn.Module):
        def __init__(self, target_feature):
            super(StyleLoss, self).__init__()
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input):
            G = gram_matrix(input)
            self.loss = F.mse_loss(G, self.target)
            return input

    torch.manual_seed(5)
    cnn = nn.Sequential(  # vgg19().features, first blocks, narrower
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True)).eval()
    cnn_normalization_mean = torch.tensor([0.485, 0.456, 0.406])
    cnn_normalization_std = torch.tensor([0.229, 0.224, 0.225])

    class Normalization(nn.Module):
        def __init__(self, mean, std):
            super(Normalization, self).__init__()
            self.mean = torch.tensor(mean).view(-1, 1, 1)
            self.std = torch.tensor(std).view(-1, 1, 1)

        def forward(self, img):
            return (img - self.mean) / self.std

    content_layers_default = ['conv_4']
    style_layers_default = ['conv_1', 'conv_2', 'conv_3', 'conv_4', 'conv_5']

    def get_style_model_and_losses(cnn, normalization_mean, normalization_std,
                                   style_img, content_img,
                                   content_layers=content_layers_default,
                                   style_layers=style_layers_default):
        normalization = Normalization(normalization_mean, normalization_std)
        content_losses = []
        style_losses = []
        model = nn.Sequential(normalization)
        i = 0
        for layer in cnn.children():
            if isinstance(layer, nn.Conv2d):
                i += 1
                name = 'conv_{}'.format(i)
            elif isinstance(layer, nn.ReLU):
                name = 'relu_{}'.format(i)
                layer = nn.ReLU(inplace=False)
            elif isinstance(layer, nn.MaxPool2d):
                name = 'pool_{}'.format(i)
            elif isinstance(layer, nn.BatchNorm2d):
                name = 'bn_{}'.format(i)
            else:
                raise RuntimeError('Unrecognized layer: {}'.format(layer.__class__.__name__))
            model.add_module(name, layer)
            if name in content_layers:
                target = model(content_img).detach()
                content_loss = ContentLoss(target)
                model.add_module("content_loss_{}".format(i), content_loss)
                content_losses.append(content_loss)
            if name in style_layers:
                target_feature = model(style_img).detach()
                style_loss = StyleLoss(target_feature)
                model.add_module("style_loss_{}".format(i), style_loss)
                style_losses.append(style_loss)
        for i in range(len(model) - 1, -1, -1):
            if isinstance(model[i], ContentLoss) or isinstance(model[i], StyleLoss):
                break
        model = model[:(i + 1)]
        return model, style_losses, content_losses

    input_img = content_img.clone()
    imshow(input_img, title='Input Image')

    def get_input_optimizer(input_img):
        optimizer = optim.LBFGS([input_img])
        return optimizer

    def run_style_transfer(cnn, normalization_mean, normalization_std,
                           content_img, style_img, input_img, num_steps=300,
                           style_weight=1000000, content_weight=1):
        out.append('Building the style transfer model..')
        model, style_losses, content_losses = get_style_model_and_losses(
            cnn, normalization_mean, normalization_std, style_img, content_img)
        out.append([name for name, _ in model.named_children()])
        input_img.requires_grad_(True)
        model.eval()
        model.requires_grad_(False)
        optimizer = get_input_optimizer(input_img)
        fwd = torch.compile(model) if compiled == "model" else model
        out.append('Optimizing..')
        run = [0]

        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            fwd(input_img)
            style_score = 0
            content_score = 0
            for sl in style_losses:
                style_score += sl.loss
            for cl in content_losses:
                content_score += cl.loss
            style_score *= style_weight
            content_score *= content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            if run[0] % 5 == 0:
                out.append("run {}:".format(run))
                out.append('Style Loss : {:4f} Content Loss: {:4f}'.format(
                    style_score.item(), content_score.item()))
            return style_score + content_score
        step = torch.compile(closure) if compiled == "step" else closure

        while run[0] <= num_steps:
            optimizer.step(step)
        with torch.no_grad():
            input_img.clamp_(0, 1)
        return input_img

    output = run_style_transfer(cnn, cnn_normalization_mean, cnn_normalization_std,
                                content_img, style_img, input_img, num_steps=12)
    imshow(output, title='Output Image')
    out.append(_np(output))
    torch.set_default_device(None)
    return out


# ---- 7. tutorials: Deep Learning with PyTorch: A 60 Minute Blitz ----
def blitz(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    out = []
    # tensors
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)
    out.append(f"Ones Tensor: \n {x_ones} \n")
    torch.manual_seed(0)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    out.append(f"Random Tensor: \n {x_rand} \n")
    shape = (2, 3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)
    out += [f"Random Tensor: \n {rand_tensor} \n", f"Ones Tensor: \n {ones_tensor} \n",
            f"Zeros Tensor: \n {zeros_tensor}"]
    tensor = torch.rand(3, 4)
    out += [f"Shape of tensor: {tensor.shape}", f"Datatype of tensor: {tensor.dtype}",
            f"Device tensor is stored on: {tensor.device}"]
    tensor = torch.ones(4, 4)
    out += [f"First row: {tensor[0]}", f"First column: {tensor[:, 0]}",
            f"Last column: {tensor[..., -1]}"]
    tensor[:, 1] = 0
    out.append(str(tensor))
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    out.append(str(t1))
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    out += [_np(y1), _np(y2), _np(y3), _np(z1), _np(z2), _np(z3)]
    agg = tensor.sum()
    agg_item = agg.item()
    out.append((agg_item, type(agg_item).__name__))
    out.append(f"{tensor} \n")
    tensor.add_(5)
    out.append(str(tensor))
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    out += [f"t: {t}", f"n: {n}"]
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    out += [f"t: {t}", f"n: {n}"]

    # autograd
    a = torch.tensor([2., 3.], requires_grad=True)
    b = torch.tensor([6., 4.], requires_grad=True)
    Q = 3*a**3 - b**2
    external_grad = torch.tensor([1., 1.])
    Q.backward(gradient=external_grad)
    out.append((9*a**2 == a.grad).tolist())
    out.append((-2*b == b.grad).tolist())
    x = torch.rand(5, 5)
    y = torch.rand(5, 5)
    z = torch.rand((5, 5), requires_grad=True)
    a = x + y
    out.append(f"Does `a` require gradients?: {a.requires_grad}")
    b = x + z
    out.append(f"Does `b` require gradients?: {b.requires_grad}")

    # neural networks
    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, input):
            c1 = F.relu(self.conv1(input))
            s2 = F.max_pool2d(c1, (2, 2))
            c3 = F.relu(self.conv2(s2))
            s4 = F.max_pool2d(c3, 2)
            s4 = torch.flatten(s4, 1)
            f5 = F.relu(self.fc1(s4))
            f6 = F.relu(self.fc2(f5))
            output = self.fc3(f6)
            return output

    net = Net()
    out.append(str(net))
    fwd = torch.compile(net) if compiled == "model" else net
    params = list(net.parameters())
    out.append(len(params))
    out.append(params[0].size())
    input = torch.randn(1, 1, 32, 32)
    out_ = fwd(input)
    out.append(_np(out_))
    net.zero_grad()
    out_.backward(torch.randn(1, 10))
    out.append(_np(net.conv1.bias.grad))
    output = fwd(input)
    target = torch.randn(10)
    target = target.view(1, -1)
    criterion = nn.MSELoss()
    loss = criterion(output, target)
    out.append(loss.item())
    eager_loss = criterion(net(input), target)  # the printed graph of an eager forward
    for fn in (eager_loss.grad_fn, eager_loss.grad_fn.next_functions[0][0],
               eager_loss.grad_fn.next_functions[0][0].next_functions[0][0]):
        out.append(repr(fn).split(" object at ")[0])  # <MseLossBackward0 object at 0x...>
    net.zero_grad()
    out.append(f"conv1.bias.grad before backward {net.conv1.bias.grad}")
    loss.backward()
    out.append(_np(net.conv1.bias.grad))
    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    optimizer = optim.SGD(net.parameters(), lr=0.01)

    def blitz_step(input, target):
        optimizer.zero_grad()
        output = fwd(input)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(blitz_step) if compiled == "step" else blitz_step
    for _ in range(2):
        out.append(step(input, target).item())

    # training a classifier (CIFAR10-shaped data)
    classes = ('plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')
    rng = np.random.default_rng(7)
    images_np = ((rng.random((16, 3, 32, 32)) - 0.5) / 0.5).astype(np.float32)
    trainset = torch.utils.data.TensorDataset(torch.from_numpy(images_np),
                                              torch.from_numpy(rng.integers(0, 10, 16)))
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=4, shuffle=True, num_workers=0)
    testloader = torch.utils.data.DataLoader(trainset, batch_size=4, shuffle=False, num_workers=0)

    class CifarNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    net = CifarNet()
    cfwd = torch.compile(net) if compiled == "model" else net
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

    def cifar_step(inputs, labels):
        optimizer.zero_grad()
        outputs = cfwd(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        return loss
    cstep = torch.compile(cifar_step) if compiled == "step" else cifar_step
    for epoch in range(2):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data
            loss = cstep(inputs, labels)
            running_loss += loss.item()
            if i % 2 == 1:
                out.append(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 2:.3f}')
                running_loss = 0.0
    dataiter = iter(testloader)
    images, labels = next(dataiter)
    out.append('GroundTruth: ' + ' '.join(f'{classes[labels[j]]:5s}' for j in range(4)))
    outputs = cfwd(images)
    _, predicted = torch.max(outputs, 1)
    out.append('Predicted: ' + ' '.join(f'{classes[predicted[j]]:5s}' for j in range(4)))
    correct = 0
    total = 0
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = cfwd(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    out.append(f'Accuracy of the network on the 10000 test images: {100 * correct // total} %')
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = cfwd(images)
            _, predictions = torch.max(outputs, 1)
            for label, prediction in zip(labels, predictions):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1
    for classname, correct_count in correct_pred.items():
        if total_pred[classname]:
            accuracy = 100 * float(correct_count) / total_pred[classname]
            out.append(f'Accuracy for class: {classname:5s} is {accuracy:.1f} %')
    out.append(_state(net))
    return out


# ---- 8. tutorials: NLP From Scratch: classifying and generating names (char-RNN) ----
_NAMES = {"English": ["Smith", "Jones", "Brown", "Taylor", "Wilson"],
          "French": ["Dubois", "Laurent", "Moreau", "Girard", "Roux"],
          "Italian": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi"]}


def char_rnn_classify(lib, compiled):
    torch = lib
    nn = lib.nn
    all_letters = string.ascii_letters + " .,;'"
    n_letters = len(all_letters)
    category_lines = _NAMES
    all_categories = list(_NAMES)
    n_categories = len(all_categories)
    out = []

    def letterToIndex(letter):
        return all_letters.find(letter)

    def letterToTensor(letter):
        tensor = torch.zeros(1, n_letters)
        tensor[0][letterToIndex(letter)] = 1
        return tensor

    def lineToTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters)
        for li, letter in enumerate(line):
            tensor[li][0][letterToIndex(letter)] = 1
        return tensor

    out.append(_np(letterToTensor('J')))
    out.append(lineToTensor('Jones').size())

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(RNN, self).__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
            self.i2o = nn.Linear(input_size + hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, input, hidden):
            combined = torch.cat((input, hidden), 1)
            hidden = self.i2h(combined)
            output = self.i2o(combined)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size)

    torch.manual_seed(0)
    n_hidden = 32
    rnn = RNN(n_letters, n_hidden, n_categories)
    fwd = torch.compile(rnn) if compiled == "model" else rnn
    input = letterToTensor('A')
    hidden = torch.zeros(1, n_hidden)
    output, next_hidden = fwd(input, hidden)
    out.append(_np(output))

    def categoryFromOutput(output):
        top_n, top_i = output.topk(1)
        category_i = top_i[0].item()
        return all_categories[category_i], category_i

    out.append(categoryFromOutput(output))
    rng = random.Random(0)

    def randomChoice(l):
        return l[rng.randint(0, len(l) - 1)]

    def randomTrainingExample():
        category = randomChoice(all_categories)
        line = randomChoice(category_lines[category])
        category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
        line_tensor = lineToTensor(line)
        return category, line, category_tensor, line_tensor

    criterion = nn.NLLLoss()
    learning_rate = 0.005

    def train(category_tensor, line_tensor):
        hidden = rnn.initHidden()
        rnn.zero_grad()
        for i in range(line_tensor.size()[0]):
            output, hidden = fwd(line_tensor[i], hidden)
        loss = criterion(output, category_tensor)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        return output, loss.item()
    step = torch.compile(train) if compiled == "step" else train

    current_loss = 0
    all_losses = []
    for iter in range(1, 13):
        category, line, category_tensor, line_tensor = randomTrainingExample()
        output, loss = step(category_tensor, line_tensor)
        current_loss += loss
        if iter % 3 == 0:
            guess, guess_i = categoryFromOutput(output)
            correct = '✓' if guess == category else '✗ (%s)' % category
            out.append('%d %d%% %.4f %s / %s %s' % (iter, iter / 12 * 100, loss, line, guess,
                                                   correct))
            all_losses.append(current_loss / 3)
            current_loss = 0
    out.append(all_losses)

    confusion = torch.zeros(n_categories, n_categories)

    def evaluate(line_tensor):
        hidden = rnn.initHidden()
        for i in range(line_tensor.size()[0]):
            output, hidden = fwd(line_tensor[i], hidden)
        return output

    for i in range(6):
        category, line, category_tensor, line_tensor = randomTrainingExample()
        output = evaluate(line_tensor)
        guess, guess_i = categoryFromOutput(output)
        category_i = all_categories.index(category)
        confusion[category_i][guess_i] += 1
    for i in range(n_categories):
        confusion[i] = confusion[i] / confusion[i].sum()
    out.append(_np(confusion))

    def predict(input_line, n_predictions=2):
        out.append('\n> %s' % input_line)
        with torch.no_grad():
            output = evaluate(lineToTensor(input_line))
            topv, topi = output.topk(n_predictions, 1, True)
            predictions = []
            for i in range(n_predictions):
                value = topv[0][i].item()
                category_index = topi[0][i].item()
                out.append('(%.2f) %s' % (value, all_categories[category_index]))
                predictions.append([value, all_categories[category_index]])

    predict('Dovesky')
    predict('Satoshi')
    out.append(_state(rnn))
    return out


def char_rnn_generate(lib, compiled):
    torch = lib
    nn = lib.nn
    all_letters = string.ascii_letters + " .,;'-"
    n_letters = len(all_letters) + 1  # Plus EOS marker
    all_categories = list(_NAMES)
    n_categories = len(all_categories)
    category_lines = _NAMES
    out = []

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super(RNN, self).__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
            self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
            self.o2o = nn.Linear(hidden_size + output_size, output_size)
            self.dropout = nn.Dropout(0.1)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, category, input, hidden):
            input_combined = torch.cat((category, input, hidden), 1)
            hidden = self.i2h(input_combined)
            output = self.i2o(input_combined)
            output_combined = torch.cat((hidden, output), 1)
            output = self.o2o(output_combined)
            output = self.dropout(output)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size)

    rng = random.Random(1)

    def randomChoice(l):
        return l[rng.randint(0, len(l) - 1)]

    def randomTrainingPair():
        category = randomChoice(all_categories)
        line = randomChoice(category_lines[category])
        return category, line

    def categoryTensor(category):
        li = all_categories.index(category)
        tensor = torch.zeros(1, n_categories)
        tensor[0][li] = 1
        return tensor

    def inputTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters)
        for li in range(len(line)):
            letter = line[li]
            tensor[li][0][all_letters.find(letter)] = 1
        return tensor

    def targetTensor(line):
        letter_indexes = [all_letters.find(line[li]) for li in range(1, len(line))]
        letter_indexes.append(n_letters - 1)  # EOS
        return torch.LongTensor(letter_indexes)

    def randomTrainingExample():
        category, line = randomTrainingPair()
        category_tensor = categoryTensor(category)
        input_line_tensor = inputTensor(line)
        target_line_tensor = targetTensor(line)
        return category_tensor, input_line_tensor, target_line_tensor

    torch.manual_seed(1)
    criterion = nn.NLLLoss()
    learning_rate = 0.0005
    rnn = RNN(n_letters, 32, n_letters)
    fwd = torch.compile(rnn) if compiled == "model" else rnn

    def train(category_tensor, input_line_tensor, target_line_tensor):
        target_line_tensor.unsqueeze_(-1)
        hidden = rnn.initHidden()
        rnn.zero_grad()
        loss = torch.Tensor([0])  # you can also just simply use ``loss = 0``
        for i in range(input_line_tensor.size(0)):
            output, hidden = fwd(category_tensor, input_line_tensor[i], hidden)
            l = criterion(output, target_line_tensor[i])
            loss += l
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        return output, loss.item() / input_line_tensor.size(0)
    step = torch.compile(train) if compiled == "step" else train

    all_losses = []
    for iter in range(1, 9):
        output, loss = step(*randomTrainingExample())
        all_losses.append(loss)
    out.append(all_losses)
    max_length = 8

    def sample(category, start_letter='A'):
        with torch.no_grad():
            category_tensor = categoryTensor(category)
            input = inputTensor(start_letter)
            hidden = rnn.initHidden()
            output_name = start_letter
            for i in range(max_length):
                output, hidden = fwd(category_tensor, input[0], hidden)
                topv, topi = output.topk(1)
                topi = topi[0][0]
                if topi == n_letters - 1:
                    break
                else:
                    letter = all_letters[topi]
                    output_name += letter
                input = inputTensor(letter)
            return output_name

    def samples(category, start_letters='ABC'):
        for start_letter in start_letters:
            out.append(sample(category, start_letter))

    rnn.eval()
    samples('English', 'RUS')
    samples('French', 'GER')
    out.append(_state(rnn))
    return out


# ---- 9. tutorials: Word Embeddings (N-gram, CBOW) and the bag-of-words classifier ----
def word_embeddings(lib, compiled):
    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    out = []
    torch.manual_seed(1)
    word_to_ix = {"hello": 0, "world": 1}
    embeds = nn.Embedding(2, 5)
    lookup_tensor = torch.tensor([word_to_ix["hello"]], dtype=torch.long)
    hello_embed = embeds(lookup_tensor)
    out.append(_np(hello_embed))

    CONTEXT_SIZE = 2
    EMBEDDING_DIM = 10
    test_sentence = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held:
Then being asked, where all thy beauty lies,""".split()
    ngrams = [
        (
            [test_sentence[i - j - 1] for j in range(CONTEXT_SIZE)],
            test_sentence[i]
        )
        for i in range(CONTEXT_SIZE, len(test_sentence))
    ]
    out.append(ngrams[:3])
    vocab = sorted(set(test_sentence))
    word_to_ix = {word: i for i, word in enumerate(vocab)}

    class NGramLanguageModeler(nn.Module):
        def __init__(self, vocab_size, embedding_dim, context_size):
            super(NGramLanguageModeler, self).__init__()
            self.embeddings = nn.Embedding(vocab_size, embedding_dim)
            self.linear1 = nn.Linear(context_size * embedding_dim, 16)
            self.linear2 = nn.Linear(16, vocab_size)

        def forward(self, inputs):
            embeds = self.embeddings(inputs).view((1, -1))
            out = F.relu(self.linear1(embeds))
            out = self.linear2(out)
            log_probs = F.log_softmax(out, dim=1)
            return log_probs

    losses = []
    loss_function = nn.NLLLoss()
    model = NGramLanguageModeler(len(vocab), EMBEDDING_DIM, CONTEXT_SIZE)
    optimizer = optim.SGD(model.parameters(), lr=0.001)
    fwd = torch.compile(model) if compiled == "model" else model

    def ngram_step(context_idxs, target_idxs):
        model.zero_grad()
        log_probs = fwd(context_idxs)
        loss = loss_function(log_probs, target_idxs)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(ngram_step) if compiled == "step" else ngram_step
    for epoch in range(2):
        total_loss = 0
        for context, target in ngrams:
            context_idxs = torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)
            loss = step(context_idxs, torch.tensor([word_to_ix[target]], dtype=torch.long))
            total_loss += loss.item()
        losses.append(total_loss)
    out.append(losses)
    out.append(_np(model.embeddings.weight[word_to_ix["beauty"]]))

    raw_text = """We are about to study the idea of a computational process.
Computational processes are abstract beings that inhabit computers.""".split()
    vocab = set(raw_text)
    vocab_size = len(vocab)
    word_to_ix = {word: i for i, word in enumerate(sorted(vocab))}
    data = []
    for i in range(CONTEXT_SIZE, len(raw_text) - CONTEXT_SIZE):
        context = (
            [raw_text[i - j - 1] for j in range(CONTEXT_SIZE)]
            + [raw_text[i + j + 1] for j in range(CONTEXT_SIZE)]
        )
        target = raw_text[i]
        data.append((context, target))

    class CBOW(nn.Module):
        def __init__(self, vocab_size, embedding_dim):
            super(CBOW, self).__init__()
            self.embeddings = nn.Embedding(vocab_size, embedding_dim)
            self.linear = nn.Linear(embedding_dim, vocab_size)

        def forward(self, inputs):
            embeds = self.embeddings(inputs).sum(dim=0, keepdim=True)
            return F.log_softmax(self.linear(embeds), dim=1)

    def make_context_vector(context, word_to_ix):
        idxs = [word_to_ix[w] for w in context]
        return torch.tensor(idxs, dtype=torch.long)

    cbow = CBOW(vocab_size, EMBEDDING_DIM)
    cfwd = torch.compile(cbow) if compiled == "model" else cbow
    optimizer = optim.SGD(cbow.parameters(), lr=0.01)

    def cbow_step(context_vector, target):
        cbow.zero_grad()
        log_probs = cfwd(context_vector)
        loss = loss_function(log_probs, target)
        loss.backward()
        optimizer.step()
        return loss
    cstep = torch.compile(cbow_step) if compiled == "step" else cbow_step
    for epoch in range(2):
        total = 0.
        for context, target in data:
            total += cstep(make_context_vector(context, word_to_ix),
                           torch.tensor([word_to_ix[target]])).item()
        out.append(total)

    # Deep Learning with PyTorch: the logistic-regression bag-of-words classifier
    data = [("me gusta comer en la cafeteria".split(), "SPANISH"),
            ("Give it to me".split(), "ENGLISH"),
            ("No creo que sea una buena idea".split(), "SPANISH"),
            ("No it is not a good idea to get lost at sea".split(), "ENGLISH")]
    test_data = [("Yo creo que si".split(), "SPANISH"),
                 ("it is lost on me".split(), "ENGLISH")]
    word_to_ix = {}
    for sent, _ in data + test_data:
        for word in sent:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)
    VOCAB_SIZE = len(word_to_ix)
    NUM_LABELS = 2

    class BoWClassifier(nn.Module):
        def __init__(self, num_labels, vocab_size):
            super(BoWClassifier, self).__init__()
            self.linear = nn.Linear(vocab_size, num_labels)

        def forward(self, bow_vec):
            return F.log_softmax(self.linear(bow_vec), dim=1)

    def make_bow_vector(sentence, word_to_ix):
        vec = torch.zeros(len(word_to_ix))
        for word in sentence:
            vec[word_to_ix[word]] += 1
        return vec.view(1, -1)

    def make_target(label, label_to_ix):
        return torch.LongTensor([label_to_ix[label]])

    model = BoWClassifier(NUM_LABELS, VOCAB_SIZE)
    bfwd = torch.compile(model) if compiled == "model" else model
    for param in model.parameters():
        out.append(_np(param))
    with torch.no_grad():
        sample = data[0]
        bow_vector = make_bow_vector(sample[0], word_to_ix)
        log_probs = bfwd(bow_vector)
        out.append(_np(log_probs))
    label_to_ix = {"SPANISH": 0, "ENGLISH": 1}
    with torch.no_grad():
        for instance, label in test_data:
            bow_vec = make_bow_vector(instance, word_to_ix)
            log_probs = bfwd(bow_vec)
            out.append(_np(log_probs))
    out.append(_np(next(model.parameters())[:, word_to_ix["creo"]]))
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    def bow_step(bow_vec, target):
        model.zero_grad()
        log_probs = bfwd(bow_vec)
        loss = loss_function(log_probs, target)
        loss.backward()
        optimizer.step()
        return loss
    bstep = torch.compile(bow_step) if compiled == "step" else bow_step
    for epoch in range(20):
        for instance, label in data:
            bstep(make_bow_vector(instance, word_to_ix), make_target(label, label_to_ix))
    with torch.no_grad():
        for instance, label in test_data:
            out.append(_np(bfwd(make_bow_vector(instance, word_to_ix))))
    out.append(_np(next(model.parameters())[:, word_to_ix["creo"]]))
    return out


# ---- 10. pytorch/examples fast_neural_style (TransformerNet, gram matrix, training step) ----
def fast_neural_style(lib, compiled):
    torch = lib
    nn = lib.nn
    out = []

    class ConvLayer(torch.nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride):
            super(ConvLayer, self).__init__()
            reflection_padding = kernel_size // 2
            self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
            self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            out = self.reflection_pad(x)
            out = self.conv2d(out)
            return out

    class ResidualBlock(torch.nn.Module):
        def __init__(self, channels):
            super(ResidualBlock, self).__init__()
            self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
            self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
            self.relu = torch.nn.ReLU()

        def forward(self, x):
            residual = x
            out = self.relu(self.in1(self.conv1(x)))
            out = self.in2(self.conv2(out))
            out = out + residual
            return out

    class UpsampleConvLayer(torch.nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
            super(UpsampleConvLayer, self).__init__()
            self.upsample = upsample
            reflection_padding = kernel_size // 2
            self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
            self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            x_in = x
            if self.upsample:
                x_in = torch.nn.functional.interpolate(x_in, mode='nearest',
                                                       scale_factor=self.upsample)
            out = self.reflection_pad(x_in)
            out = self.conv2d(out)
            return out

    class TransformerNet(torch.nn.Module):
        def __init__(self):
            super(TransformerNet, self).__init__()
            self.conv1 = ConvLayer(3, 4, kernel_size=9, stride=1)
            self.in1 = torch.nn.InstanceNorm2d(4, affine=True)
            self.conv2 = ConvLayer(4, 8, kernel_size=3, stride=2)
            self.in2 = torch.nn.InstanceNorm2d(8, affine=True)
            self.conv3 = ConvLayer(8, 8, kernel_size=3, stride=2)
            self.in3 = torch.nn.InstanceNorm2d(8, affine=True)
            self.res1 = ResidualBlock(8)
            self.res2 = ResidualBlock(8)
            self.deconv1 = UpsampleConvLayer(8, 8, kernel_size=3, stride=1, upsample=2)
            self.in4 = torch.nn.InstanceNorm2d(8, affine=True)
            self.deconv2 = UpsampleConvLayer(8, 4, kernel_size=3, stride=1, upsample=2)
            self.in5 = torch.nn.InstanceNorm2d(4, affine=True)
            self.deconv3 = ConvLayer(4, 3, kernel_size=9, stride=1)
            self.relu = torch.nn.ReLU()

        def forward(self, X):
            y = self.relu(self.in1(self.conv1(X)))
            y = self.relu(self.in2(self.conv2(y)))
            y = self.relu(self.in3(self.conv3(y)))
            y = self.res1(y)
            y = self.res2(y)
            y = self.relu(self.in4(self.deconv1(y)))
            y = self.relu(self.in5(self.deconv2(y)))
            y = self.deconv3(y)
            return y

    class Features(nn.Module):  # stands in for utils' Vgg16 (relu1_2 .. relu4_3 slices)
        def __init__(self):
            super().__init__()
            self.slice1 = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True))
            self.slice2 = nn.Sequential(nn.MaxPool2d(2, 2), nn.Conv2d(4, 8, 3, padding=1),
                                        nn.ReLU(inplace=True))
            for param in self.parameters():
                param.requires_grad = False

        def forward(self, X):
            h = self.slice1(X)
            h_relu1_2 = h
            h = self.slice2(h)
            h_relu2_2 = h
            vgg_outputs = namedtuple("VggOutputs", ['relu1_2', 'relu2_2'])
            return vgg_outputs(h_relu1_2, h_relu2_2)

    def gram_matrix(y):
        (b, ch, h, w) = y.size()
        features = y.view(b, ch, w * h)
        features_t = features.transpose(1, 2)
        gram = features.bmm(features_t) / (ch * h * w)
        return gram

    def normalize_batch(batch):
        # normalize using imagenet mean and std
        mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
        std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
        batch = batch.div_(255.0)
        return (batch - mean) / std

    torch.manual_seed(42)
    rng = np.random.default_rng(42)
    train_np = (rng.random((4, 3, 16, 16)) * 255).astype(np.float32)
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(train_np),
                                       torch.zeros(4, dtype=torch.long)), batch_size=2)
    transformer = TransformerNet()
    optimizer = torch.optim.Adam(transformer.parameters(), 1e-3)
    mse_loss = torch.nn.MSELoss()
    vgg = Features()
    style = torch.from_numpy((rng.random((3, 16, 16)) * 255).astype(np.float32))
    style = style.repeat(2, 1, 1, 1)
    features_style = vgg(normalize_batch(style))
    gram_style = [gram_matrix(y) for y in features_style]
    content_weight, style_weight = 1e5, 1e10
    tfwd = torch.compile(transformer) if compiled == "model" else transformer

    def train_step(x):
        n_batch = len(x)
        optimizer.zero_grad()
        y = tfwd(x)
        y = normalize_batch(y)
        x = normalize_batch(x)
        features_y = vgg(y)
        features_x = vgg(x)
        content_loss = content_weight * mse_loss(features_y.relu2_2, features_x.relu2_2)
        style_loss = 0.
        for ft_y, gm_s in zip(features_y, gram_style):
            gm_y = gram_matrix(ft_y)
            style_loss += mse_loss(gm_y, gm_s[:n_batch, :, :])
        style_loss *= style_weight
        total_loss = content_loss + style_loss
        total_loss.backward()
        optimizer.step()
        return content_loss, style_loss
    step = torch.compile(train_step) if compiled == "step" else train_step

    for e in range(2):
        transformer.train()
        agg_content_loss = 0.
        agg_style_loss = 0.
        count = 0
        for batch_id, (x, _) in enumerate(train_loader):
            n_batch = len(x)
            count += n_batch
            content_loss, style_loss = step(x)
            agg_content_loss += content_loss.item()
            agg_style_loss += style_loss.item()
            out.append("Epoch {}:\t[{}/{}]\tcontent: {:.6f}\tstyle: {:.6f}\ttotal: {:.6f}".format(
                e + 1, count, len(train_loader.dataset),
                agg_content_loss / (batch_id + 1),
                agg_style_loss / (batch_id + 1),
                (agg_content_loss + agg_style_loss) / (batch_id + 1)))
    # stylize
    transformer.eval()
    content_image = torch.from_numpy((rng.random((3, 12, 12)) * 255).astype(np.float32))
    content_image = content_image.unsqueeze(0)
    with torch.no_grad():
        output = tfwd(content_image).cpu()
    img = output[0].clone().clamp(0, 255).numpy()
    img = img.transpose(1, 2, 0).astype("uint8")
    out.append(img.astype(np.float64))
    state = transformer.state_dict()
    out.append(sorted(k for k in state if "running" in k))
    # A bias whose per-channel constant the next InstanceNorm removes has an exactly-zero
    # gradient: Adam turns its rounding noise into steps of size lr, so it is not compared.
    noise = {k for k in state if (k.endswith("conv2d.bias") and not k.startswith("deconv3"))
             or (k.startswith("res") and k.endswith("in2.bias"))}
    out.append({k: _np(v) for k, v in state.items() if k not in noise})
    return out


# ---- 11. pytorch/examples mnist_hogwild (a model in shared memory, trained by a forked
# process) ----
def hogwild(lib, compiled):
    import os

    torch = lib
    nn = lib.nn
    F = lib.nn.functional
    optim = lib.optim
    mp = lib.multiprocessing

    class Args:
        batch_size = 8
        test_batch_size = 16
        epochs = 2
        lr = 0.01
        momentum = 0.5
        seed = 1
        log_interval = 1
        num_processes = 1
        dry_run = False

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 4, kernel_size=5)
            self.conv2 = nn.Conv2d(4, 8, kernel_size=5)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(128, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 128)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=self.training)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    def train(rank, args, model, device, dataset, dataloader_kwargs, log):
        torch.manual_seed(args.seed + rank)
        train_loader = torch.utils.data.DataLoader(dataset, **dataloader_kwargs)
        optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
        fwd = torch.compile(model) if compiled == "model" else model

        def step(data, target):
            optimizer.zero_grad()
            output = fwd(data.to(device))
            loss = F.nll_loss(output, target.to(device))
            loss.backward()
            optimizer.step()
            return loss
        step = torch.compile(step) if compiled == "step" else step
        for epoch in range(1, args.epochs + 1):
            train_epoch(epoch, args, model, device, train_loader, step, log)

    def train_epoch(epoch, args, model, device, data_loader, step, log):
        model.train()
        for batch_idx, (data, target) in enumerate(data_loader):
            loss = step(data, target)
            if batch_idx % args.log_interval == 0:
                log.send('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(data_loader.dataset),
                    100. * batch_idx / len(data_loader), loss.item()))
                if args.dry_run:
                    break

    def test(args, model, device, dataset, dataloader_kwargs):
        torch.manual_seed(args.seed)
        test_loader = torch.utils.data.DataLoader(dataset, **dataloader_kwargs)
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                output = model(data.to(device))
                test_loss += F.nll_loss(output, target.to(device), reduction='sum').item()
                pred = output.max(1)[1]
                correct += pred.eq(target.to(device)).sum().item()
        test_loss /= len(test_loader.dataset)
        return '\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset))

    args = Args()
    device = torch.device("cpu")
    images, labels = _mnist_like(16, 9)
    dataset1 = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    kwargs = {'batch_size': args.batch_size, 'shuffle': True}
    torch.manual_seed(args.seed)
    ctx = mp.get_context("fork")  # the example's 'spawn' needs tensors pickled as handles
    model = Net().to(device)
    model.share_memory()  # gradients are allocated lazily, so they are not shared here
    out = [all(p.is_shared() for p in model.parameters())]
    receive, send = ctx.Pipe(duplex=False)
    processes = []
    for rank in range(args.num_processes):
        p = ctx.Process(target=train, args=(rank, args, model, device, dataset1, kwargs, send))
        p.start()
        processes.append(p)
    for p in processes:
        p.join()
    out.append([p.exitcode for p in processes])
    while receive.poll():
        out.append(receive.recv())
    out.append(test(args, model, device, dataset1, kwargs))
    out.append(_state(model))
    return out


# ---- 12. tutorials: Learn the Basics (quickstart, datasets, transforms, build the model,
# autograd, optimization, saving and loading weights) ----
def basics(lib, compiled):
    import os
    import tempfile

    torch = lib
    nn = lib.nn
    Dataset = torch.utils.data.Dataset
    DataLoader = torch.utils.data.DataLoader
    out = []
    rng = np.random.default_rng(11)
    images_np = rng.random((40, 1, 28, 28)).astype(np.float32)
    labels_np = rng.integers(0, 10, 40)
    labels_map = {0: "T-Shirt", 1: "Trouser", 2: "Pullover", 3: "Dress", 4: "Coat",
                  5: "Sandal", 6: "Shirt", 7: "Sneaker", 8: "Bag", 9: "Ankle Boot"}

    class CustomImageDataset(Dataset):
        def __init__(self, images, labels, transform=None, target_transform=None):
            self.img_labels = labels
            self.images = images
            self.transform = transform
            self.target_transform = target_transform

        def __len__(self):
            return len(self.img_labels)

        def __getitem__(self, idx):
            image = torch.from_numpy(self.images[idx])
            label = int(self.img_labels[idx])
            if self.transform:
                image = self.transform(image)
            if self.target_transform:
                label = self.target_transform(label)
            return image, label

    target_transform = lambda y: torch.zeros(10, dtype=torch.float).scatter_(
        0, torch.tensor(y), value=1)
    torch.manual_seed(0)
    training_data = CustomImageDataset(images_np[:32], labels_np[:32])
    test_data = CustomImageDataset(images_np[32:], labels_np[32:])
    one_hot = CustomImageDataset(images_np, labels_np, target_transform=target_transform)
    out.append(_np(one_hot[3][1]))
    for i in range(1, 4):
        sample_idx = torch.randint(len(training_data), size=(1,)).item()
        img, label = training_data[sample_idx]
        out.append((labels_map[label], tuple(img.squeeze().shape)))
    train_dataloader = DataLoader(training_data, batch_size=8, shuffle=True)
    test_dataloader = DataLoader(test_data, batch_size=8, shuffle=True)
    train_features, train_labels = next(iter(train_dataloader))
    out.append(f"Feature batch shape: {train_features.size()}")
    out.append(f"Labels batch shape: {train_labels.size()}")
    out.append(f"Label: {train_labels[0]}")

    device = torch.accelerator.current_accelerator().type \
        if torch.accelerator.is_available() else "cpu"
    out.append(f"Using {device} device")

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28*28, 32),
                nn.ReLU(),
                nn.Linear(32, 32),
                nn.ReLU(),
                nn.Linear(32, 10),
            )

        def forward(self, x):
            x = self.flatten(x)
            logits = self.linear_relu_stack(x)
            return logits

    model = NeuralNetwork().to(device)
    out.append(str(model))
    fwd = torch.compile(model) if compiled == "model" else model
    X = torch.rand(1, 28, 28, device=device)
    logits = fwd(X)
    pred_probab = nn.Softmax(dim=1)(logits)
    y_pred = pred_probab.argmax(1)
    out.append(f"Predicted class: {y_pred}")
    input_image = torch.rand(3, 28, 28)
    out.append(input_image.size())
    flatten = nn.Flatten()
    flat_image = flatten(input_image)
    layer1 = nn.Linear(in_features=28*28, out_features=20)
    hidden1 = layer1(flat_image)
    out.append(hidden1.size())
    out.append(f"Before ReLU: {hidden1}\n\n")
    hidden1 = nn.ReLU()(hidden1)
    out.append(f"After ReLU: {hidden1}")
    out.append(f"Model structure: {model}\n\n")
    for name, param in model.named_parameters():
        out.append(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")

    # autograd
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w)+b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    out.append(f"Gradient function for z = {z.grad_fn}".split(" object at")[0])
    out.append(f"Gradient function for loss = {loss.grad_fn}".split(" object at")[0])
    loss.backward()
    out += [_np(w.grad), _np(b.grad)]
    z = torch.matmul(x, w)+b
    out.append(z.requires_grad)
    with torch.no_grad():
        z = torch.matmul(x, w)+b
    out.append(z.requires_grad)
    z = torch.matmul(x, w)+b
    z_det = z.detach()
    out.append(z_det.requires_grad)
    inp = torch.eye(4, 5, requires_grad=True)
    out_ = (inp+1).pow(2).t()
    out_.backward(torch.ones_like(out_), retain_graph=True)
    out.append(f"First call\n{inp.grad}")
    out_.backward(torch.ones_like(out_), retain_graph=True)
    out.append(f"\nSecond call\n{inp.grad}")
    inp.grad.zero_()
    out_.backward(torch.ones_like(out_), retain_graph=True)
    out.append(f"\nCall after zeroing gradients\n{inp.grad}")

    # optimization loop
    learning_rate = 1e-3
    batch_size = 8
    epochs = 2
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

    def step(X, y):
        pred = fwd(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss
    step = torch.compile(step) if compiled == "step" else step

    def train_loop(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            loss = step(X, y)
            if batch % 2 == 0:
                loss, current = loss.item(), batch * batch_size + len(X)
                out.append(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

    def test_loop(dataloader, model, loss_fn):
        model.eval()
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                pred = fwd(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        test_loss /= num_batches
        correct /= size
        out.append(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, "
                   f"Avg loss: {test_loss:>8f} \n")

    for t in range(epochs):
        out.append(f"Epoch {t+1}\n-------------------------------")
        train_loop(train_dataloader, model, loss_fn, optimizer)
        test_loop(test_dataloader, model, loss_fn)
    out.append("Done!")

    # save and load
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model_weights.pth")
        torch.save(model.state_dict(), path)
        model2 = NeuralNetwork()
        model2.load_state_dict(torch.load(path, weights_only=True))
        model2.eval()
        out.append(_state(model2))
        with torch.no_grad():
            out.append(_np(model2(torch.from_numpy(images_np[:2]))))
    return out


# ---- the harness ----

PROBES = {
    "stn": stn,
    "text_classification": text_classification,
    "transfer_learning": transfer_learning,
    "mnist_fgsm": mnist_fgsm,
    "dqn": dqn,
    "style_transfer": style_transfer,
    "blitz": blitz,
    "char_rnn_classify": char_rnn_classify,
    "char_rnn_generate": char_rnn_generate,
    "word_embeddings": word_embeddings,
    "fast_neural_style": fast_neural_style,
    "hogwild": hogwild,
    "basics": basics,
}

# LBFGS on an image under a 1e6 style weight: float32 summation order moves the path a little
TOLERANCES = {"style_transfer": dict(rtol=1e-3, atol=1e-3)}


_reference = reference_of(PROBES)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("mode", ["eager", "model", "step"])
@pytest.mark.parametrize("name", list(PROBES))
def test_tutorial_probe_matches_pytorch(name, mode, monkeypatch):
    check_probe(PROBES, _reference, name, mode, monkeypatch, tolerances=TOLERANCES)
