#!/usr/bin/env python3
"""Engine layering check (docs/design.md "Engine layers"; README "Architecture"): every engine
source and public header belongs to one layer, bottom to top

    core -> kernels -> ops -> io -> quant -> model -> analysis -> export -> session

and may include only headers of its own layer or below. Fails (exit 1) on an #include that runs
upwards, on an engine file that no rule below places in a layer (a new file must be placed), and
on Qt beyond what a layer may use: Qt Gui only in export (the report writers), Qt Widgets and Qt
Charts nowhere in the engine.
    tests/scripts/check_layers.py [REPO_ROOT]"""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else '.'
ORDER = ['core', 'kernels', 'ops', 'io', 'quant', 'model', 'analysis', 'export', 'session']
RANK = {n: i for i, n in enumerate(ORDER)}
# public headers (engine/include/qdq/...) by name
HEADERS = {
    'tensor.h': 'core', 'dtype.h': 'core', 'errors.h': 'core', 'progress.h': 'core', 'device.h': 'core',
    'cpu_isa.h': 'core', 'half.h': 'core', 'storage.h': 'core', 'threading.h': 'core', 'version.h': 'core',
    'limits.h': 'core', 'quantizer_site.h': 'core',
    'checkpoint.h': 'io', 'config.h': 'io', 'tokenizer.h': 'io', 'calibration_data.h': 'io',
    'io/atomic_file.h': 'io', 'io/safetensors.h': 'io', 'io/text_file.h': 'io', 'io/onnx_import.h': 'io',
    'quant/quant_descriptor.h': 'quant', 'quant/tensor_quantizer.h': 'quant', 'quant/fake_quant.h': 'quant',
    'quant/calibrator.h': 'quant', 'quant/quant_config.h': 'quant', 'quant/onnx_amax.h': 'quant',
    'kernel_types.h': 'kernels',
    'quant/quant_hooks.h': 'model', 'model.h': 'model', 'text_task.h': 'model',
    'calibration_hooks.h': 'analysis', 'analysis.h': 'analysis', 'compare.h': 'analysis', 'sensitivity.h': 'analysis', 'calibration.h': 'analysis',
    'report.h': 'export', 'io/onnx_export.h': 'export', 'report_writer.h': 'export', 'chart_palette.h': 'export',
    'session.h': 'session',
}
SRC_DIRS = {'core': 'core', 'kernels': 'kernels', 'ops': 'ops', 'io': 'io', 'tokenizer': 'io', 'quant': 'quant',
            'model': 'model', 'calibration': 'analysis', 'analysis': 'analysis', 'export': 'export',
            'session': 'session'}
SRC_FILES = {'io/onnx/onnx_export.cpp': 'export', 'analysis/report.cpp': 'export',
             'quant/quant_hooks.cpp': 'model', 'quant/onnx_site_hooks.cpp': 'export',
             'io/onnx/onnx_import.cpp': 'io'}
def layer_of_source(rel):  # rel: path under engine/src
    if rel in SRC_FILES: return SRC_FILES[rel]
    return SRC_DIRS.get(rel.split('/')[0])
inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
qt_re = re.compile(r'^\s*#\s*include\s+<(Q\w+(?:/\w+)?)>')
# Qt Gui classes the report writers use (and their module header); anything from Widgets or Charts
QT_GUI = {'QtGui', 'QImage', 'QPainter', 'QPainterPath', 'QPdfWriter', 'QTextDocument', 'QFont', 'QFontMetrics',
          'QGuiApplication', 'QColor', 'QPen', 'QBrush', 'QPalette', 'QPageSize', 'QPageLayout', 'QTransform'}
QT_NEVER = re.compile(r'^(QtWidgets|QtCharts|QtPrintSupport|QApplication|QWidget|QLayout|QChart\w*|Q\w*Series|'
                      r'Q\w*Axis|QLegend\w*|QPrinter|QSvg\w*)')
bad = []; unknown = []
for base, kind in (('engine/include/qdq', 'hdr'), ('engine/src', 'src')):
    for dirpath, _, files in os.walk(os.path.join(root, base)):
        for f in files:
            if not f.endswith(('.h', '.cpp', '.cu', '.cuh', '.in')): continue
            path = os.path.join(dirpath, f); rel = os.path.relpath(path, os.path.join(root, base))
            me = HEADERS.get(rel) if kind == 'hdr' else layer_of_source(rel)
            if me is None: unknown.append(os.path.join(base, rel)); continue
            srcdir = os.path.dirname(rel)
            for n, line in enumerate(open(path, encoding='utf-8', errors='replace'), 1):
                q = qt_re.match(line)
                if q:
                    name = q.group(1); leaf = name.split('/')[-1]  # <QImage> or <QtGui/QImage>
                    if QT_NEVER.match(name) or QT_NEVER.match(leaf):
                        bad.append(f'{base}/{rel}:{n}: the engine includes <{name}> (Qt Widgets / Charts)')
                    elif (name.startswith('QtGui') or leaf in QT_GUI) and me != 'export':
                        bad.append(f'{base}/{rel}:{n}: {me} includes <{name}> (Qt Gui: export layer only)')
                m = inc_re.match(line)
                if not m: continue
                target = m.group(1)
                if target.startswith('qdq/'):
                    them = HEADERS.get(target[4:])
                    if them is None: unknown.append(target); continue
                else:  # engine/src internal header, relative to engine/src or to the including file
                    cand = os.path.normpath(os.path.join(srcdir, target)) if kind == 'src' else target
                    if not os.path.exists(os.path.join(root, 'engine/src', cand)): cand = target
                    them = layer_of_source(cand)
                    if them is None: continue  # generated (build_info.h) or system
                if RANK[them] > RANK[me]:
                    bad.append(f'{base}/{rel}:{n}: {me} includes {target} ({them})')
for u in sorted(set(unknown)): print('no layer for', u)
for b in bad: print(b)
print(f'{len(bad)} upward includes or Qt includes beyond the layer, {len(set(unknown))} files without a layer')
sys.exit(1 if bad or unknown else 0)
