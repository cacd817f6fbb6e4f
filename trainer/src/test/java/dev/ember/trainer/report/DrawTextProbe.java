package dev.ember.trainer.report;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import javax.imageio.ImageIO;

/**
 * Child JVM of {@link BundledFontsTest}: draws text in the logical fonts xchart uses (SansSerif,
 * plain and bold) black on white, as a plot's title and labels, and writes it as a PNG.
 */
final class DrawTextProbe {
    static final int WIDTH = 240;
    static final int HEIGHT = 60;

    private DrawTextProbe() {
    }

    public static void main(String[] args) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, HEIGHT);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.drawString("Held-out AUC", 4, 22);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString("training time (s) 0.770", 4, 48);
        g.dispose();
        ImageIO.write(image, "png", new File(args[0]));
    }
}
