// magpie-import-backbone PACKAGE_DIR OUT.mbb
// Converts the MobileNetV2 of an unpacked nsfwjs@4.3.0 package into Magpie's
// backbone file (layers up to block_10 only). Run by the build; see training/.
#include "training/service/nsfwjsimport.h"

#include <QCoreApplication>
#include <QTextStream>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList a = QCoreApplication::arguments();
    QTextStream err(stderr);
    if (a.size() != 3) {
        err << "usage: magpie-import-backbone NSFWJS_PACKAGE_DIR OUT.mbb\n";
        return 2;
    }
    QString error;
    if (!magpie::training::importNsfwjsMobileNetV2(a[1], a[2], &error)) {
        err << "magpie-import-backbone: " << error << '\n';
        return 1;
    }
    return 0;
}
