/* ck-weights — make, inspect, verify and convert VGG16, VGG19 and ResNet50
 * weight files. */
#include "common/cli.h"
#include "ck/fs.h"

#include "ck/weights.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char prog[] = "ck-weights";

static void usage(FILE *out)
{
    fprintf(out,
        "Usage: %s COMMAND [OPTION]... [FILE]...\n"
        "Make, inspect, verify and convert VGG16, VGG19 and ResNet50 weight files.\n"
        "\n"
        "Commands:\n"
        "  random [--arch A] [--layout L] --seed S [--top] -o FILE\n"
        "                  write seeded random weights laid out as the file users\n"
        "                  download (marked random: never mistaken for it): keras →\n"
        "                  Keras HDF5, torchvision → safetensors state_dict; --top\n"
        "                  adds VGG's fc1, fc2, predictions (about 550 MB)\n"
        "  info FILE       architecture, layout, format, preprocessing, origin, size,\n"
        "                  sha256, md5, tensors and shapes; a loud warning when the\n"
        "                  weights are random\n"
        "  verify [--arch A] FILE\n"
        "                  check FILE against the official Keras notop files (or\n"
        "                  only A's): %s\n"
        "                  (%lld bytes, sha256 %s),\n"
        "                  %s (md5 %s),\n"
        "                  %s (md5 %s)\n"
        "  convert IN OUT.safetensors\n"
        "                  load IN (.h5 or .safetensors, torchvision or ck names) and\n"
        "                  write it as safetensors under ck's canonical names\n"
        "\n"
        "Options:\n"
        "  -a, --arch=A    vgg16 (default for 'random'), vgg19 or resnet50\n"
        "  -l, --layout=L  'random': keras (default) or torchvision\n"
        "  -s, --seed=S    seed for 'random' (unsigned 64-bit integer; required, with\n"
        "                  no default, so that random weights are always asked for)\n"
        "  -t, --top       'random': include the fully connected top (VGG only)\n"
        "  -o, --output=F  'random': output file\n"
        "  -h, --help      display this help and exit\n"
        "      --version   show the version and exit\n"
        "\n"
        "Files are detected, and their architecture and layout recognised, by\n"
        "content, not by name. Tensors are float32 in Keras layout under Keras\n"
        "names: \"block1_conv1/kernel\" [3,3,in,out], \"block1_conv1/bias\" [out],\n"
        "\"conv1_bn/gamma\" [c] ...\n"
        "\n"
        "Exit status:\n"
        "  0  success ('verify': the file is the official one)\n"
        "  1  runtime error: unreadable, corrupt or unrecognised file, write failure;\n"
        "     'verify': the file is not the official one\n"
        "  2  usage error\n",
        prog, CK_VGG16_NOTOP_FILE, CK_VGG16_NOTOP_SIZE, CK_VGG16_NOTOP_SHA256, CK_VGG19_NOTOP_FILE,
        CK_VGG19_NOTOP_MD5, CK_RESNET50_NOTOP_FILE, CK_RESNET50_NOTOP_MD5);
}

static int cmd_random(ck_arch arch, ck_layout layout, const char *seed_text, int top, const char *out)
{
    if (!seed_text)
        return ck_cli_usage_error(prog, "random: --seed is required");
    if (!out)
        return ck_cli_usage_error(prog, "random: -o FILE is required");
    unsigned long long seed;
    if (ck_cli_parse_ull(seed_text, 10, &seed))
        return ck_cli_usage_error(prog, "invalid seed '%s'", seed_text);
    if (top && arch == CK_ARCH_RESNET50)
        return ck_cli_usage_error(prog, "random: --top is for VGG only");
    if (ck_weights_write_random(out, arch, layout, seed, top) < 0)
        return ck_cli_fail(prog);
    fprintf(stderr, "%s: wrote %s: RANDOM %s weights, %s layout (seed %llu)%s, not pretrained\n", prog, out,
            ck_arch_name(arch), ck_layout_name(layout), seed, top ? ", with top" : "");
    return 0;
}

static void warn_random(const ck_weights *w)
{
    fprintf(stderr,
        "\n"
        "  ******************************************************************\n"
        "  *  WARNING: %s holds RANDOM weights (seed %lld).\n"
        "  *  They are NOT the ImageNet-pretrained %s: fine-tuning from\n"
        "  *  them gives poor scores. Run 'make -C pretrained' online.\n"
        "  ******************************************************************\n"
        "\n",
        ck_weights_path(w), ck_weights_random_seed(w), ck_arch_name(ck_weights_arch(w)));
}

static int cmd_info(const char *path)
{
    ck_weights *w = ck_weights_load(path);
    if (!w)
        return ck_cli_fail(prog);
    ck_weights_origin o = ck_weights_origin_of(w);
    printf("file: %s\n", path);
    printf("arch: %s\n", ck_arch_name(ck_weights_arch(w)));
    printf("layout: %s\n", ck_layout_name(ck_weights_layout(w)));
    printf("format: %s\n", ck_weights_format(w));
    printf("size: %lld bytes\n", ck_weights_file_size(w));
    printf("sha256: %s\n", ck_weights_sha256(w));
    printf("md5: %s\n", ck_weights_md5(w));
    if (o == CK_WEIGHTS_RANDOM)
        printf("origin: RANDOM (seed %lld) -- NOT pretrained\n", ck_weights_random_seed(w));
    else if (o == CK_WEIGHTS_OFFICIAL)
        printf("origin: official (%s)\n", ck_weights_official_of(ck_weights_arch(w))->file);
    else
        printf("origin: unknown (not a known official file)\n");
    printf("preprocessing: %s\n", ck_weights_preprocessing(w));
    printf("top: %s\n", ck_weights_has_top(w) ? "yes" : "no");
    printf("tensors: %d\n", ck_weights_count(w));
    long long params = 0;
    for (int k = 0; k < ck_weights_count(w); k++) {
        int ndim, shape[4];
        const char *name = ck_weights_name(w, k);
        ck_weights_get(w, name, &ndim, shape);
        long long n = 1;
        printf("  %-30s [", name);
        for (int d = 0; d < ndim; d++) {
            printf(d ? ",%d" : "%d", shape[d]);
            n *= shape[d];
        }
        printf("]\n");
        params += n;
    }
    printf("parameters: %lld\n", params);
    if (o == CK_WEIGHTS_RANDOM)
        warn_random(w);
    ck_weights_free(w);
    return 0;
}

static int cmd_verify(const char *arch_text, const char *path)
{
    ck_arch arch = CK_ARCH_VGG16;
    if (!arch_text) {
        /* Any of the official files, from one read. */
        int r = ck_weights_identify(path, &arch);
        if (r < 0)
            return ck_cli_fail(prog);
        if (r == 0) {
            fprintf(stderr, "%s: %s: NOT an official file: its size, sha256 and md5 match none\n", prog, path);
            return 1;
        }
    } else {
        const char *why = NULL;
        if (ck_arch_parse(arch_text, &arch) < 0)
            return ck_cli_usage_error(prog, "invalid --arch '%s' (vgg16, vgg19 or resnet50)", arch_text);
        int r = ck_weights_verify_arch(path, arch, &why);
        if (r < 0)
            return ck_cli_fail(prog);
        if (r == 0) {
            fprintf(stderr, "%s: %s: NOT the official file: %s\n", prog, path, why);
            return 1;
        }
    }
    printf("%s: OK (official %s, %s)\n", path, ck_arch_name(arch), ck_weights_official_of(arch)->file);
    return 0;
}

static int cmd_convert(const char *in, const char *out)
{
    ck_weights *w = ck_weights_load(in);
    if (!w)
        return ck_cli_fail(prog);
    int rc = ck_weights_write_safetensors(w, out);
    if (rc == 0 && ck_weights_origin_of(w) == CK_WEIGHTS_RANDOM)
        warn_random(w);
    ck_weights_free(w);
    return rc < 0 ? ck_cli_fail(prog) : 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"arch", required_argument, NULL, 'a'},
        {"layout", required_argument, NULL, 'l'},
        {"seed", required_argument, NULL, 's'},
        {"top", no_argument, NULL, 't'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *seed = NULL, *out = NULL, *arch_text = NULL, *layout_text = NULL;
    int top = 0, c;
    ck_cli_name(argv, prog);
    /* '+' would stop at the command; permuting lets options go anywhere. */
    while ((c = getopt_long(argc, argv, "a:l:s:to:h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': arch_text = optarg; break;
        case 'l': layout_text = optarg; break;
        case 's': seed = optarg; break;
        case 't': top = 1; break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': return ck_cli_version(prog);
        default:
            return ck_cli_try_help(prog);
        }
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    if (nargs < 1)
        return ck_cli_usage_error(prog, "missing command");
    const char *cmd = args[0];
    if (strcmp(cmd, "random") == 0) {
        if (nargs != 1)
            return ck_cli_usage_error(prog, "random: unexpected argument '%s'", args[1]);
        ck_arch arch = CK_ARCH_VGG16;
        ck_layout layout = CK_LAYOUT_KERAS;
        if (arch_text && ck_arch_parse(arch_text, &arch) < 0)
            return ck_cli_usage_error(prog, "invalid --arch '%s' (vgg16, vgg19 or resnet50)", arch_text);
        if (layout_text && ck_layout_parse(layout_text, &layout) < 0)
            return ck_cli_usage_error(prog, "invalid --layout '%s' (keras or torchvision)", layout_text);
        if (ck_cli_output(prog, out, "--output", CK_OUT_SYNC))
            return 2;
        return cmd_random(arch, layout, seed, top, out);
    }
    if (seed || top || out || layout_text)
        return ck_cli_usage_error(prog, "--seed, --layout, --top and --output are for 'random', not '%s'", cmd);
    if (arch_text && strcmp(cmd, "verify") != 0)
        return ck_cli_usage_error(prog, "--arch is for 'random' and 'verify', not '%s'", cmd);
    if (strcmp(cmd, "info") == 0 || strcmp(cmd, "verify") == 0) {
        if (nargs != 2)
            return ck_cli_usage_error(prog, "%s: exactly one FILE expected", cmd);
        if (!*args[1])
            return ck_cli_usage_error(prog, "%s: empty file name", cmd);
        return cmd[0] == 'i' ? cmd_info(args[1]) : cmd_verify(arch_text, args[1]);
    }
    if (strcmp(cmd, "convert") == 0) {
        if (nargs != 3)
            return ck_cli_usage_error(prog, "convert: IN and OUT expected");
        if (ck_cli_input(prog, args[1], "IN") || ck_cli_output(prog, args[2], "OUT", CK_OUT_SYNC))
            return 2;
        return cmd_convert(args[1], args[2]);
    }
    return ck_cli_usage_error(prog, "unknown command '%s'", cmd);
}
