// Copies the raster images (png, jpg, webp) out of Qt resource files (.rcc):
// GCompris ships its pictures that way. Used by make-letters-backbone.sh for
// the 'none' pictures of the synthetic initials.
//   rccextract OUTDIR FILE.rcc...   (build: g++ rccextract.cpp $(pkg-config --cflags --libs Qt6Core))
#include <QCoreApplication>
#include <QDirIterator>
#include <QFile>
#include <QResource>

#include <cstdio>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (argc < 3) {
        std::fprintf(stderr, "usage: rccextract OUTDIR FILE.rcc...\n");
        return 2;
    }
    const QString out = QString::fromLocal8Bit(argv[1]);
    for (int i = 2; i < argc; ++i)
        if (!QResource::registerResource(QString::fromLocal8Bit(argv[i])))
            std::fprintf(stderr, "skipped %s\n", argv[i]);
    int n = 0;
    QDirIterator it(QStringLiteral(":/"), QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString p = it.next();
        if (!p.endsWith(QLatin1String(".png")) && !p.endsWith(QLatin1String(".jpg")) && !p.endsWith(QLatin1String(".webp")))
            continue;
        QString name = p.mid(2);
        name.replace(QLatin1Char('/'), QLatin1Char('_'));
        n += QFile::copy(p, out + QLatin1Char('/') + name);
    }
    std::printf("%d images\n", n);
    return 0;
}
