r"""PAUP's published ``ConvMultiHeadAttention`` and its ``DownConv``, verbatim.

Source: repository ``YuehuaZhu/PAUP`` (the code of Zhu et al., "Progressive
Self-Attention Network with Unsymmetrical Positional Encoding for Sequential
Recommendation", SIGIR 2022, doi:10.1145/3477495.3531800), file
``recbole/model/layers.py`` at commit ``ff5288c125eedb23c4203aec968364e04870cddf``
(the file was last changed in commit ``87b4f1cdad18d67d6eeb936838b954e5defa7683``):
the classes ``DownConv`` (lines 335-371) and ``ConvMultiHeadAttention`` (lines
374-455), copied byte for byte, trailing spaces and typos included.

Import shim: the original file begins with imports used by its other classes
(``numpy``, ``copy``, ``logging``, ``torch.nn.functional``, ``normal_`` and
``from recbole.utils import ModelType, InputType, FeatureType``). The two classes
below only use ``math``, ``torch`` and ``torch.nn``, so only those three are
imported here; nothing else is changed and RecBole is not needed.

Kept as the test oracle of :class:`strided_conv.ConvMultiHeadAttention`; the
package's layer is not built from this code. What the tests and the book show
about it: the ``DownConv`` sizes come from the float ``seq_len / k1`` and a wrong
segment count is only printed (see :mod:`strided_conv.original.downconv`); the
positional branch computes an ``n x n`` score map, so the layer is quadratic in
``n`` whatever ``m_segments`` is; both softmaxes normalise over the query axis
(``dim=-2``); no attention mask of any kind is applied.

Licence of the source repository (a RecBole fork), reproduced as required:

MIT License

Copyright (c) 2020 RUCAIBox

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""
# fmt: off
# ruff: noqa
import math
import torch
import torch.nn as nn

__all__ = ["DownConv", "ConvMultiHeadAttention"]

# ---- verbatim from recbole/model/layers.py, lines 335-455 ----
class DownConv(nn.Module):
    def __init__(self, seq_len=200, hidden_size=64, m_segments=4,k1=10,channel_reduction=16):
        super().__init__()
        """ 
            DownConv is implemented by stacked strided convolution layers and more details can be found below. When the
            parameters k_1 and k_2 are determined, we can soon get m in Eq.2 of the paper. However, we are more concerned 
            with the size of the parameter m, so we searched for a combination of parameter m and parameter k_1 (parameter 
            k_2 can be easily calculated in this process) to find the optimal segment numbers. 
            Args:
                input_tensor (torch.Tensor): the input of the attention layer

            Returns:
                output_conv (torch.Tensor): the convolutional outputs in Eq.2 of the paper
        """
        self.m =m_segments
        self.k1 = k1
        self.channel_reduction = channel_reduction # avoid over-parameterization
        middle_segment_length = seq_len/k1
        k2=math.ceil(middle_segment_length/m_segments)
        padding = math.ceil((k2*self.m-middle_segment_length)/2.0) # pad the second convolutional layer appropriately
        self.conv1a = nn.Conv1d(in_channels=hidden_size, out_channels=hidden_size // self.channel_reduction,
                                kernel_size=self.k1,
                                stride=self.k1)
        self.relu1a = nn.ReLU(inplace=True)
        self.conv2a = nn.Conv1d(in_channels=hidden_size // self.channel_reduction, out_channels=hidden_size,
                                kernel_size=k2,
                                stride=k2, padding = padding)

    def forward(self, input_tensor):
        input_tensor = input_tensor.permute(0, 2, 1)
        x1a = self.relu1a(self.conv1a(input_tensor))
        x2a = self.conv2a(x1a)
        if x2a.size(2) != self.m:
            print('size_erroe, x2a.size_{} do not equals to m_segments_{}'.format(x2a.size(2),self.m))
        output_conv = x2a.permute(0, 2, 1)
        return output_conv



class ConvMultiHeadAttention(nn.Module):
    def __init__(self, n_heads, m_segments, hidden_size, seq_len, hidden_dropout_prob, attn_dropout_prob, layer_norm_eps,k1):
        super(ConvMultiHeadAttention, self).__init__()
        if hidden_size % n_heads != 0:
            raise ValueError(
                "The hidden size (%d) is not a multiple of the number of attention "
                "heads (%d)" % (hidden_size, n_heads))

        self.num_attention_heads = n_heads
        self.attention_head_size = int(hidden_size / n_heads)
        self.all_head_size = self.num_attention_heads * self.attention_head_size  

        # initialization for low-rank decomposed self-attention
        self.query = nn.Linear(hidden_size, self.all_head_size)
        self.key = nn.Linear(hidden_size, self.all_head_size)
        self.value = nn.Linear(hidden_size, self.all_head_size)

        self.attpooling_key = DownConv(seq_len,hidden_size,m_segments,k1)
        self.attpooling_value = DownConv(seq_len,hidden_size,m_segments,k1)

        # initialization for unsymmetrical position encoding
        self.attn_scale_factor = 2
        self.pos_q_linear = nn.Linear(hidden_size, self.all_head_size)
        self.pos_k_linear = nn.Linear(hidden_size, self.all_head_size)
        self.pos_scaling = float(self.attention_head_size * self.attn_scale_factor) ** -0.5
        self.pos_ln = nn.LayerNorm(hidden_size, eps=layer_norm_eps)

        self.attn_dropout = nn.Dropout(attn_dropout_prob)

        self.dense = nn.Linear(hidden_size, hidden_size)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.out_dropout = nn.Dropout(hidden_dropout_prob)

    def transpose_for_scores(self, x): # transfor to multihead
        new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
        x = x.view(*new_x_shape)
        return x.permute(0, 2, 1, 3)

    def forward(self, input_tensor, pos_emb):
        # linear map
        mixed_query_layer = self.query(input_tensor)
        mixed_key_layer = self.key(input_tensor)
        mixed_value_layer = self.value(input_tensor)

        # progressive self-attention: to capture global-local sequential patterns efficiently and progressively
        query_layer = self.transpose_for_scores(mixed_query_layer)
        key_layer = self.transpose_for_scores(self.attpooling_key(mixed_key_layer))
        value_layer = self.transpose_for_scores(self.attpooling_value(mixed_value_layer))

        attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
        attention_scores = attention_scores / math.sqrt(self.attention_head_size)
        
        # normalize the attention scores to probabilities.
        attention_probs = nn.Softmax(dim=-2)(attention_scores)
        attention_probs = self.attn_dropout(attention_probs)
        context_layer_item = torch.matmul(attention_probs, value_layer)

        # unsymmetrical position encoding: relation of positions
        value_layer_pos = self.transpose_for_scores(mixed_value_layer)
        # as shown in the figure1-a (green arrow)
        pos_emb = pos_emb.unsqueeze(0).repeat(input_tensor.size(0),1,1)+input_tensor
        pos_emb = self.pos_ln(pos_emb)

        pos_query_layer = self.transpose_for_scores(self.pos_q_linear(pos_emb)) * self.pos_scaling
        pos_key_layer = self.transpose_for_scores(self.pos_k_linear(pos_emb))

        abs_pos_bias = torch.matmul(pos_query_layer, pos_key_layer.transpose(-1, -2))
        abs_pos_bias = abs_pos_bias / math.sqrt(self.attention_head_size)
        abs_pos_bias = nn.Softmax(dim=-2)(abs_pos_bias)

        context_layer_pos = torch.matmul(abs_pos_bias, value_layer_pos)

        context_layer = context_layer_item + context_layer_pos

        context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
        new_context_layer_shape = context_layer.size()[:-2] + (self.all_head_size,)
        context_layer = context_layer.view(*new_context_layer_shape)
        hidden_states = self.dense(context_layer)
        hidden_states = self.out_dropout(hidden_states)
        hidden_states = self.LayerNorm(hidden_states + input_tensor)

        return hidden_states
# ---- end of verbatim copy ----
